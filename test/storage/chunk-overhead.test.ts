// A PATCH sent as a hundred thousand 1-byte chunks (chunked encoding) is written to the file in
// a few large writes, not one per chunk: the per-chunk work (a hash update, a queued write) was
// what made a 1 MiB upload in 1-byte chunks cost tens of CPU seconds.
import test from 'ava';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { FaultyDriver } from '../helpers/faulty-driver.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { serveStorageApp, type StorageAppServer } from '../helpers/storage-app.js';
import { RegistryClient, sha256, withQuery } from '../helpers/storage-http.js';

let dir: string;
let server: StorageAppServer;
let driver: FaultyDriver;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chunks-'));
  driver = new FaultyDriver(new FilesystemDriver(dir));
  server = await serveStorageApp(driver);
});

test.after.always(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** `data` as a chunked body of 1-byte chunks, built in one buffer (the client must stay cheap). */
function oneByteChunks(data: Buffer): Buffer {
  const body = Buffer.alloc(data.length * 6 + 5);
  for (let i = 0, o = 0; i < data.length; i++, o += 6) {
    body[o] = 0x31; // "1"
    body[o + 1] = 0x0d;
    body[o + 2] = 0x0a;
    body[o + 3] = data[i]!;
    body[o + 4] = 0x0d;
    body[o + 5] = 0x0a;
  }
  body.write('0\r\n\r\n', data.length * 6, 'latin1');
  return body;
}

test('100,000 one-byte chunks are written in a few large writes and make the right blob', async (t) => {
  const client = new RegistryClient(server.url);
  const data = uniqueBlob(100_000);
  const path = await client.startUpload('chunks/tiny');
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (bytes: Buffer) => {
    answer += bytes.toString('latin1');
  });
  const before = driver.streamWrites;
  socket.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`);
  socket.write(oneByteChunks(data));
  while (!answer.includes('\r\n\r\n')) await new Promise((resolve) => setTimeout(resolve, 5));
  socket.destroy();
  t.regex(answer, /^HTTP\/1\.1 202 /);
  t.regex(answer, /\r\nRange: 0-99999\r\n/);
  const writes = driver.streamWrites - before;
  t.true(writes <= 100, `${writes} writes for 100,000 chunks`);

  const done = await client.send(withQuery(path, 'digest', sha256(data)), { method: 'PUT' });
  t.is(done.status, 201, done.text);
  t.true((await client.getBlob('chunks/tiny', sha256(data))).body.equals(data));
});

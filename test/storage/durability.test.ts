// Nothing half-written is served, nothing acknowledged is lost: an upload cut in the middle of a
// PATCH keeps the bytes that arrived and can be resumed from there; a storage restart between
// PATCH and PUT still completes (the digest is computed again from storage).
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { assertOciError } from '../helpers/storage-assert.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256, withQuery, type HttpResponse } from '../helpers/storage-http.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';

const opened: TestStorage[] = [];

async function open(): Promise<{ storage: TestStorage; client: RegistryClient }> {
  const storage = await startStorage();
  opened.push(storage);
  return { storage, client: new RegistryClient(storage.url) };
}

test.after.always(async () => {
  for (const storage of opened) await storage.close();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Sends a PATCH that announces `announced` bytes, writes only `sent`, waits until storage has all
 * of them on disk (upload status), then destroys the socket: a client that died mid-upload.
 */
async function cutPatch(client: RegistryClient, path: string, announced: number, sent: Buffer, headers: Record<string, string> = {}, already = 0) {
  const { hostname, port } = new URL(client.baseUrl);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`PATCH ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${announced}\r\n${extra}\r\n`);
  socket.write(sent);
  const expected = `0-${already + sent.length - 1}`;
  await until(`the server to hold ${already + sent.length} bytes`, async () => {
    const status = await client.send(path);
    return status.header('range') === expected ? true : undefined;
  });
  socket.destroy();
}

/** PATCHes a chunk; while the server is still winding down the cut request, it answers 416 "busy": retry. */
async function patchWhenFree(client: RegistryClient, path: string, body: Buffer, range: string): Promise<HttpResponse> {
  return await until('the cut request to be released', async () => {
    const res = await client.send(path, { method: 'PATCH', body, headers: { 'content-range': range } });
    if (res.status === 416 && /another request/.test(res.text)) return undefined;
    return res;
  });
}

async function assertNothingUnder(t: ExecutionContext, storage: TestStorage, client: RegistryClient, name: string, digest: string) {
  t.is((await client.getBlob(name, digest, {}, 'HEAD')).status, 404, 'not visible under its digest');
  const blobs = await listTree(join(storage.root, 'docker/registry/v2/blobs'));
  t.false(blobs.some((path) => path.includes(digest.slice('sha256:'.length))), 'no blob data under the digest');
}

test('an upload cut mid-PATCH keeps what arrived, shows it in the status, and resumes to completion', async (t) => {
  const { storage, client } = await open();
  const data = uniqueBlob(3 * 1024 * 1024);
  const digest = sha256(data);
  const path = await client.startUpload('dur/cut');
  const cutAt = 1024 * 1024 + 4321;
  await cutPatch(client, path, data.length, data.subarray(0, cutAt));

  await assertNothingUnder(t, storage, client, 'dur/cut', digest);
  const status = await client.send(path);
  t.is(status.status, 204);
  t.is(status.header('range'), `0-${cutAt - 1}`, 'the status shows exactly the bytes received');

  const rest = await patchWhenFree(client, path, data.subarray(cutAt), `${cutAt}-${data.length - 1}`);
  t.is(rest.status, 202, rest.text);
  t.is(rest.header('range'), `0-${data.length - 1}`);
  await assertNothingUnder(t, storage, client, 'dur/cut', digest);
  const done = await client.send(withQuery(path, 'digest', digest), { method: 'PUT' });
  t.is(done.status, 201, done.text);
  t.true((await client.getBlob('dur/cut', digest)).body.equals(data), 'the resumed blob is right, byte for byte');
});

test('a chunk cut in a chunked upload resumes from the received offset', async (t) => {
  const { storage, client } = await open();
  const data = uniqueBlob(600_000);
  const digest = sha256(data);
  const path = await client.startUpload('dur/chunks');
  t.is((await client.send(path, { method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'content-range': '0-99999' } })).status, 202);
  await cutPatch(client, path, 400_000, data.subarray(100_000, 250_000), { 'content-range': '100000-499999' }, 100_000);
  await assertNothingUnder(t, storage, client, 'dur/chunks', digest);
  t.is((await client.send(path)).header('range'), '0-249999');

  const wrongDigest = await client.send(withQuery(path, 'digest', digest), { method: 'PUT' });
  assertOciError(t, wrongDigest, 400, 'DIGEST_INVALID', 'completing with only part of the data');
  t.is((await client.send(path)).status, 404, 'a failed completion ends the session');
  await assertNothingUnder(t, storage, client, 'dur/chunks', digest);

  // Same scenario, resumed properly this time.
  const again = await client.startUpload('dur/chunks');
  t.is((await client.send(again, { method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'content-range': '0-99999' } })).status, 202);
  await cutPatch(client, again, 400_000, data.subarray(100_000, 250_000), { 'content-range': '100000-499999' }, 100_000);
  const resumed = await patchWhenFree(client, again, data.subarray(250_000, 500_000), '250000-499999');
  t.is(resumed.status, 202, resumed.text);
  const done = await client.send(withQuery(again, 'digest', digest), { method: 'PUT', body: data.subarray(500_000) });
  t.is(done.status, 201, done.text);
  t.true((await client.getBlob('dur/chunks', digest)).body.equals(data));
});

test('a restart between PATCH and PUT still completes the upload (digest computed from storage)', async (t) => {
  const { storage, client } = await open();
  const data = uniqueBlob(2 * 1024 * 1024 + 3);
  const digest = sha256(data);
  const path = await client.startUpload('dur/restart');
  t.is((await client.send(path, { method: 'PATCH', body: data })).status, 202);

  await storage.restart();
  client.baseUrl = storage.url;
  t.is((await client.send(path)).header('range'), `0-${data.length - 1}`, 'the session survived the restart');
  await assertNothingUnder(t, storage, client, 'dur/restart', digest);
  const done = await client.send(withQuery(path, 'digest', digest), { method: 'PUT' });
  t.is(done.status, 201, done.text);
  t.true((await client.getBlob('dur/restart', digest)).body.equals(data));
});

test('a restart between chunks: the next chunk and the final PUT body still make the right blob', async (t) => {
  const { storage, client } = await open();
  const data = uniqueBlob(300_000);
  const digest = sha256(data);
  const path = await client.startUpload('dur/restart-chunks');
  t.is((await client.send(path, { method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'content-range': '0-99999' } })).status, 202);
  await storage.restart();
  client.baseUrl = storage.url;
  const second = await client.send(path, { method: 'PATCH', body: data.subarray(100_000, 200_000), headers: { 'content-range': '100000-199999' } });
  t.is(second.status, 202, second.text);
  await storage.restart();
  client.baseUrl = storage.url;
  const done = await client.send(withQuery(path, 'digest', digest), { method: 'PUT', body: data.subarray(200_000) });
  t.is(done.status, 201, done.text);
  t.true((await client.getBlob('dur/restart-chunks', digest)).body.equals(data));
});

test('a restart between PATCH and a PUT with the wrong digest refuses it and stores nothing', async (t) => {
  const { storage, client } = await open();
  const data = uniqueBlob(100_000);
  const path = await client.startUpload('dur/restart-wrong');
  t.is((await client.send(path, { method: 'PATCH', body: data })).status, 202);
  await storage.restart();
  client.baseUrl = storage.url;
  const claimed = sha256(uniqueBlob(10));
  assertOciError(t, await client.send(withQuery(path, 'digest', claimed), { method: 'PUT' }), 400, 'DIGEST_INVALID');
  await assertNothingUnder(t, storage, client, 'dur/restart-wrong', claimed);
  await assertNothingUnder(t, storage, client, 'dur/restart-wrong', sha256(data));
});

test('a download cut by the client leaves the service serving the blob to others', async (t) => {
  const { client } = await open();
  const data = uniqueBlob(8 * 1024 * 1024);
  const digest = await client.pushBlob('dur/download', data);
  const { hostname, port } = new URL(client.baseUrl);
  for (let i = 0; i < 3; i++) {
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    socket.write(`GET /v2/dur/download/blobs/${digest} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await once(socket, 'data');
    socket.destroy();
  }
  const res = await client.getBlob('dur/download', digest);
  t.is(res.status, 200);
  t.true(res.body.equals(data));
});

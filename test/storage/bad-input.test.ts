// Bad input gets a clean 4xx, never a cut connection: an oversized manifest is answered 413 after
// its body was read, on a connection that stays usable for the next request.
import test from 'ava';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { MEDIA } from '../helpers/storage-fixtures.js';
import { startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;

test.before(async () => {
  storage = await startStorage();
});

test.after.always(async () => {
  await storage?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads responses off a raw socket, one at a time (Content-Length bodies only, as storage sends errors). */
class RawConnection {
  private buffered = Buffer.alloc(0);
  private closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    return new RawConnection(socket);
  }

  async response(timeoutMs = 30_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.parse();
      if (parsed) return parsed;
      if (this.closed) throw new Error(`connection closed before a whole response (${this.buffered.length} bytes buffered)`);
      if (Date.now() > deadline) throw new Error('timed out waiting for a response');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private parse(): RawResponse | undefined {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buffered.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffered.length < end + 4 + length) return undefined;
    const body = this.buffered.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffered = this.buffered.subarray(end + 4 + length);
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }
}

test('a 15 MB manifest PUT is answered 413 SIZE_INVALID and the connection serves the next request', async (t) => {
  const conn = await RawConnection.open(storage.url);
  const body = Buffer.alloc(15 * 1024 * 1024, 0x20);
  conn.socket.write(
    `PUT /v2/bad/huge/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: ${MEDIA.ociManifest}\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  conn.socket.write(body);
  const refused = await conn.response();
  t.is(refused.status, 413);
  t.is((JSON.parse(refused.body) as { errors: Array<{ code: string }> }).errors[0]!.code, 'SIZE_INVALID');
  t.not(refused.headers.connection, 'close', 'the connection is kept: the body was read before answering');

  conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await conn.response()).status, 200, 'the same connection answers the next request');
  conn.socket.destroy();
});

test('a chunked manifest body over 4 MiB is answered 413 on a connection that stays usable', async (t) => {
  const conn = await RawConnection.open(storage.url);
  conn.socket.write(`PUT /v2/bad/huge/manifests/v2 HTTP/1.1\r\nHost: x\r\nContent-Type: ${MEDIA.ociManifest}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const piece = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < 6; i++) conn.socket.write(`${piece.length.toString(16)}\r\n${piece.toString('latin1')}\r\n`);
  conn.socket.write('0\r\n\r\n');
  const refused = await conn.response();
  t.is(refused.status, 413);
  conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await conn.response()).status, 200);
  conn.socket.destroy();
});

test('a body sent where no route answers gets 404, is read and dropped, and the connection serves the next request', async (t) => {
  // The gateway streams the body while storage answers early; closing with unread bytes reset the
  // connection and the gateway, still writing, answered 502 instead of the 404 (fuzz finding).
  const conn = await RawConnection.open(storage.url);
  const body = Buffer.alloc(6 * 1024 * 1024, 0x20);
  conn.socket.write(`PUT /v2/bad/app/manifests/tag/x HTTP/1.1\r\nHost: x\r\nContent-Type: ${MEDIA.ociManifest}\r\nContent-Length: ${body.length}\r\n\r\n`);
  conn.socket.write(body);
  const refused = await conn.response();
  t.is(refused.status, 404);
  t.not(refused.headers.connection, 'close');
  conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await conn.response()).status, 200, 'the same connection answers the next request');
  conn.socket.destroy();
});

test('an upload PATCH to a session that does not exist gets 404 and the connection stays usable', async (t) => {
  const conn = await RawConnection.open(storage.url);
  const body = Buffer.alloc(3 * 1024 * 1024, 0x61);
  conn.socket.write(`PATCH /v2/bad/app/blobs/uploads/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`);
  conn.socket.write(body);
  const refused = await conn.response();
  t.is(refused.status, 404);
  conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await conn.response()).status, 200);
  conn.socket.destroy();
});

for (const method of ['PROPFIND', 'TRACE', 'MKCOL']) {
  test(`${method} on a manifest is 405 with Allow and an OCI body, not 501`, async (t) => {
    const conn = await RawConnection.open(storage.url);
    conn.socket.write(`${method} /v2/bad/app/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\n`);
    const answer = await conn.response();
    t.is(answer.status, 405);
    t.deepEqual(answer.headers.allow?.split(/,\s*/).sort(), ['DELETE', 'GET', 'HEAD', 'PUT']);
    t.is((JSON.parse(answer.body) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNSUPPORTED');
    conn.socket.write(`${method} /v2/bad/app/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n`);
    t.is((await conn.response()).status, 404, 'where no route matches, the path does not exist');
    conn.socket.destroy();
  });
}

// An answer given before the request body was read (413 from Content-Length, an early error from
// storage) reaches a client that is still sending its body: the gateway reads and drops the rest
// for a moment before it closes, instead of resetting the connection under the client (which
// then saw EPIPE or ECONNRESET, not the answer). And a request Node cannot parse, pipelined
// behind good ones, is answered 400 with an OCI body after their answers, in order.
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { startStack, type Stack } from './helpers/stack.js';

const authorization = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
let stack: Stack;
test.before(async () => {
  stack = await startStack({ users: { alice: 's3cret' } });
});
test.after.always(async () => {
  await stack?.close();
});

function open(allowHalfOpen = true): Promise<Socket> {
  const { hostname, port } = new URL(stack.gatewayUrl);
  return new Promise((resolve, reject) => {
    // Half-open allowed, as a client still writing its body is: the server's end after its answer
    // does not stop it (Node's default would end this side too).
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What came back until the server closed, and whether it reset the connection instead. */
function collect(socket: Socket): { text: () => string; firstAnswer: Promise<void>; closed: Promise<{ error?: string }> } {
  let text = '';
  let answered: () => void = () => undefined;
  const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    if (text.includes('\r\n\r\n')) answered();
  });
  const closed = new Promise<{ error?: string }>((resolve) => {
    let error: string | undefined;
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on('close', () => resolve({ error }));
  });
  return { text: () => text, firstAnswer, closed };
}

async function writeAll(socket: Socket, body: Buffer): Promise<void> {
  for (let offset = 0; offset < body.length && !socket.destroyed; offset += 256 * 1024) {
    if (!socket.write(body.subarray(offset, offset + 256 * 1024))) {
      await new Promise<void>((resolve) => socket.once('drain', resolve).once('close', resolve));
    }
  }
  if (!socket.destroyed) socket.end();
}

test('a manifest refused 413 by its Content-Length: the client may send the rest of its body and is not reset', async (t) => {
  const socket = await open();
  const answer = collect(socket);
  const body = Buffer.alloc(5 * 1024 * 1024, 0x20);
  socket.write(`PUT /v2/early/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${body.length}\r\n\r\n`);
  await answer.firstAnswer; // the 413 is out before any body byte was sent
  await writeAll(socket, body);
  const { error } = await answer.closed;
  t.regex(answer.text(), /^HTTP\/1\.1 413 /);
  t.regex(answer.text(), /\r\nconnection: close\r\n/i);
  t.is(error, undefined, 'the connection ends cleanly, it is not reset');
});

test('an upload PATCH that storage refuses at once reaches the client whole, with no reset', async (t) => {
  const socket = await open();
  const answer = collect(socket);
  const body = Buffer.alloc(1024 * 1024, 0x61);
  socket.write(`PATCH /v2/early/app/blobs/uploads/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`);
  // The proxy sends storage the request with its first body bytes; storage answers at once.
  socket.write(body.subarray(0, 64 * 1024));
  await answer.firstAnswer;
  await writeAll(socket, body.subarray(64 * 1024));
  const { error } = await answer.closed;
  t.regex(answer.text(), /^HTTP\/1\.1 404 /);
  t.is(error, undefined);
});

test('a request Node cannot parse, pipelined behind good ones, gets its 400 with an OCI body after their answers', async (t) => {
  const socket = await open(false);
  const answer = collect(socket);
  const good = `GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(good + good.replace('/v2/', '/v2/_catalog')), Buffer.from('GET /v2/a/\u202e/tags/list HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')]));
  await answer.closed;
  const statuses = [...answer.text().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  t.deepEqual(statuses, [200, 200, 400]);
  const last = answer.text().slice(answer.text().lastIndexOf('HTTP/1.1 400 '));
  t.regex(last, /\r\nContent-Type: application\/json; charset=utf-8\r\n/i);
  t.regex(last, /\{"errors":\[\{"code":"UNSUPPORTED","message":"malformed HTTP request","detail":null\}\]\}\n$/);
});

test('a request Node cannot parse, with a body still coming, gets its 400 and then a clean close, not a reset', async (t) => {
  const socket = await open();
  const answer = collect(socket);
  const body = Buffer.alloc(4 * 1024 * 1024 + 100, 0x20);
  socket.write(Buffer.from(`PUT /v2/early/\u00fc/manifests/v1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Length: ${body.length}\r\n\r\n`, 'utf8'));
  await answer.firstAnswer;
  await writeAll(socket, body);
  const { error } = await answer.closed;
  t.regex(answer.text(), /^HTTP\/1\.1 400 /);
  t.is(error, undefined, 'the connection ends cleanly, it is not reset');
});

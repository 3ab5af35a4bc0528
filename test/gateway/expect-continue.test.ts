// `Expect: 100-continue`: the gateway invites the body only once the request is authenticated
// and allowed. A client without valid credentials gets its 401 first and never a "100 Continue"
// (Node would answer it at once, before any middleware ran); a client with them gets the
// invitation, sends the body, and the upload goes through.
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { sha256 } from '../helpers/digest.js';
import { basicAuth, locationPath, RegistryClient } from '../helpers/storage-http.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;

test.before(async () => {
  stack = await startStack({ users: { alice: 's3cret' } });
});
test.after.always(async () => {
  await stack?.close();
});

/** A raw connection to the gateway; `next()` resolves with the next answer head the server sends. */
async function open(): Promise<{ socket: Socket; next(): Promise<string> }> {
  const { hostname, port } = new URL(stack.gatewayUrl);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setEncoding('latin1');
  let buffered = '';
  const waiting: Array<() => void> = [];
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (const wake of waiting.splice(0)) wake();
  });
  socket.on('close', () => {
    for (const wake of waiting.splice(0)) wake();
  });
  const next = async (): Promise<string> => {
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        return head;
      }
      if (socket.destroyed) throw new Error(`connection closed; got ${JSON.stringify(buffered)}`);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  return { socket, next };
}

test('without credentials, Expect: 100-continue gets the 401 and no invitation to send the body', async (t) => {
  const { socket, next } = await open();
  try {
    socket.write(
      'POST /v2/team/app/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
        'Content-Length: 1048576\r\nExpect: 100-continue\r\n\r\n',
    );
    const head = await next();
    t.regex(head, /^HTTP\/1\.1 401 /);
    t.regex(head, /\r\nwww-authenticate: Basic realm="basic-realm"/i);
  } finally {
    socket.destroy();
  }
  const wrong = await open();
  try {
    wrong.socket.write(
      'PUT /v2/team/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n' +
        `Authorization: ${basicAuth('alice', 'wrong').authorization}\r\n\r\n`,
    );
    t.regex(await wrong.next(), /^HTTP\/1\.1 401 /);
  } finally {
    wrong.socket.destroy();
  }
});

test('with credentials, Expect: 100-continue is invited once and the body is stored', async (t) => {
  const client = new RegistryClient(stack.gatewayUrl, basicAuth('alice', 's3cret'));
  const path = await client.startUpload('team/app');
  const data = Buffer.from('sent only after 100 Continue');
  const digest = sha256(data);
  const { socket, next } = await open();
  try {
    socket.write(
      `PUT ${path}${path.includes('?') ? '&' : '?'}digest=${digest} HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: ${basicAuth('alice', 's3cret').authorization}\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Length: ${data.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    t.regex(await next(), /^HTTP\/1\.1 100 Continue$/);
    socket.write(data);
    const head = await next();
    t.regex(head, /^HTTP\/1\.1 201 /);
    t.true(locationPath(/\r\nlocation: ([^\r]+)/i.exec(head)![1]!).endsWith(`/blobs/${digest}`));
  } finally {
    socket.destroy();
  }
  t.true((await client.getBlob('team/app', digest)).body.equals(data));
});

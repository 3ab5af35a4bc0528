// Slow and idle clients are cut off, and one address cannot hold the gateway hostage. Real
// sockets on loopback against the real gateway + storage; the timeouts are shortened (2 s) so
// that every test ends in seconds.
import { connect, type Socket } from 'node:net';
import test from 'ava';
import { basicAuth, RegistryClient } from '../helpers/storage-http.js';
import { startStack, type Stack } from './helpers/stack.js';

const USERS = { alice: 'wonderland' };
const AUTH = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;

function portOf(stack: Stack): number {
  return Number(new URL(stack.gatewayUrl).port);
}

function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves with what the server sent and how long the socket stayed open (ms), or rejects past `limitMs`. */
function untilClosed(socket: Socket, limitMs: number): Promise<{ received: string; ms: number }> {
  const started = Date.now();
  let received = '';
  socket.setEncoding('latin1').on('data', (d: string) => (received += d));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${limitMs} ms; received ${JSON.stringify(received.slice(0, 200))}`));
    }, limitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, ms: Date.now() - started });
    });
  });
}

const shortTimeouts = { gatewayOptions: { headersTimeoutMs: 2000, clientSilenceMs: 2000 } };

test('a connection that never sends its headers is closed soon after headersTimeout', async (t) => {
  const stack = await startStack(shortTimeouts);
  t.teardown(() => stack.close());
  const { ms } = await untilClosed(await open(portOf(stack)), 6000);
  t.true(ms >= 1500 && ms < 4500, `closed after ${ms} ms`);
});

test('a request body that falls silent is cut off', async (t) => {
  const stack = await startStack({ ...shortTimeouts, users: USERS });
  t.teardown(() => stack.close());
  const socket = await open(portOf(stack));
  const closed = untilClosed(socket, 8000);
  socket.write(`POST /v2/slow/app/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 1000\r\n\r\n0123456789`);
  const { ms } = await closed;
  t.true(ms < 5000, `closed after ${ms} ms`);
});

test('an unauthenticated request announcing 1 GB gets its 401 and the connection closes, whatever it still sends', async (t) => {
  const stack = await startStack({ ...shortTimeouts, users: USERS });
  t.teardown(() => stack.close());
  const socket = await open(portOf(stack));
  const closed = untilClosed(socket, 8000);
  socket.write('POST /v2/big/app/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nx');
  // A byte every 200 ms: never silent long enough for the silence timer.
  const trickle = setInterval(() => socket.writable && socket.write('x'), 200);
  t.teardown(() => clearInterval(trickle));
  const { received, ms } = await closed;
  t.regex(received, /^HTTP\/1\.1 401 /);
  t.regex(received, /\r\nConnection: close\r\n/i);
  t.regex(received, /"code":"UNAUTHORIZED"/);
  t.true(ms < 1500, `closed after ${ms} ms`);
});

test('pipelined requests on one connection are all answered, in order', async (t) => {
  const stack = await startStack({ users: USERS });
  t.teardown(() => stack.close());
  const zero = `sha256:${'0'.repeat(64)}`;
  const paths = ['/v2/', '/v2/_catalog', '/v2/a/tags/list', `/v2/a/blobs/${zero}`, '/v2/', '/v2/a/manifests/latest', '/v2/_catalog', '/v2/b/tags/list', '/v2/', `/v2/b/blobs/${zero}`];
  const methods = ['GET', 'GET', 'GET', 'HEAD', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET'];
  const expected = [200, 200, 404, 404, 200, 404, 200, 404, 200, 404];
  const socket = await open(portOf(stack));
  const closed = untilClosed(socket, 10_000);
  socket.write(paths.map((path, i) => `${methods[i]} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n${i === 9 ? 'Connection: close\r\n' : ''}\r\n`).join(''));
  const { received } = await closed;
  const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  t.deepEqual(statuses, expected);
});

test('2,000 idle and slow connections from one address do not stop another client from pushing', async (t) => {
  const stack = await startStack({ users: USERS });
  t.teardown(() => stack.close());
  const port = portOf(stack);
  const hogs: Socket[] = [];
  t.teardown(() => hogs.forEach((s) => s.destroy()));
  let refused = 0;
  for (let batch = 0; batch < 20; batch++) {
    const opened = await Promise.allSettled(Array.from({ length: 100 }, () => open(port, '127.0.0.1')));
    for (const result of opened) {
      if (result.status === 'fulfilled') {
        const socket = result.value;
        socket.on('error', () => undefined);
        hogs.push(socket);
        // Half of them start a request and stall inside its headers.
        if (hogs.length % 2 === 0) socket.write('PATCH /v2/hog/app/blobs/uploads/x HTTP/1.1\r\nHost: x\r\n');
      } else refused++;
    }
  }
  const stillOpen = () => hogs.filter((socket) => !socket.destroyed).length;
  for (let i = 0; i < 50 && stillOpen() > 512; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(stillOpen(), 512, `the per-address cap closed the surplus (${refused} could not even connect)`);
  const started = Date.now();
  const client = new RegistryClient(stack.gatewayUrl, basicAuth('alice', 'wonderland'), { localAddress: '127.0.0.2' });
  const pushed = await client.uploadBlob('team/app', Buffer.alloc(256 * 1024, 7));
  t.is(pushed.final.status, 201);
  t.true(Date.now() - started < 10_000);
});

// Plain-HTTP listener robustness and the `addr` forms: `:port`, `host:port`, `[::1]:port`, `unix:/path`.
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { runGateway } from '../../gateway/main.js';
import { testConfig } from '../helpers/config.js';
import { captureLogger } from './helpers/capture-logger.js';
import { request } from './helpers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from './helpers/recording-upstream.js';

let upstream: RecordingUpstream;
test.before(async () => {
  upstream = await startRecordingUpstream();
});
test.after.always(async () => {
  await upstream?.close();
});

test('bad listen addresses are refused at start with the setting named', async (t) => {
  for (const addr of ['5000', '::1:5000', ':99999', 'host:port']) {
    await t.throwsAsync(runGateway(testConfig({ http: { addr }, storageservice: { addr: upstream.addr } }), captureLogger().logger), {
      message: /^http\.addr: /,
    });
  }
});

test('the :port form listens on every interface', async (t) => {
  const gateway = await runGateway(testConfig({ http: { addr: ':0' }, storageservice: { addr: upstream.addr } }), captureLogger().logger);
  try {
    const url = new URL(gateway.urls[0]!);
    t.true(['[::]', '0.0.0.0'].includes(url.hostname), url.hostname);
    t.is((await request(`http://127.0.0.1:${url.port}/v2/`)).status, 200);
  } finally {
    await gateway.close();
  }
});

test('the gateway can listen on a unix socket (unix:/path), again after a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-sock-'));
  const path = join(dir, 'gateway.sock');
  try {
    for (let round = 0; round < 2; round++) {
      const gateway = await runGateway(testConfig({ http: { addr: `unix:${path}` }, storageservice: { addr: upstream.addr } }), captureLogger().logger);
      try {
        t.deepEqual(gateway.urls, [`unix:${path}`]);
        const status = await new Promise<number>((resolve, reject) => {
          // agent: false: a pooled keep-alive socket from round 1 may still look open here.
          http.get({ socketPath: path, path: '/v2/', agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        });
        t.is(status, 200);
      } finally {
        await gateway.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a TLS ClientHello on the plain HTTP port gets a 400 or a closed connection, and the server keeps serving', async (t) => {
  const logs = captureLogger();
  const gateway = await runGateway(testConfig({ storageservice: { addr: upstream.addr } }), logs.logger, { closeGraceMs: 500 });
  try {
    const port = Number(new URL(gateway.urls[0]!).port);

    // What docker and skopeo do first on host:port: a real TLS handshake. It must fail on the
    // client side (the answer is plain HTTP), not hang and not crash the server.
    const handshake = await new Promise<Error | undefined>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'registry.test', rejectUnauthorized: false });
      socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
      socket.once('secureConnect', () => resolve(undefined));
      socket.once('error', (err) => resolve(err));
      socket.once('close', () => resolve(new Error('closed')));
    });
    t.truthy(handshake);
    t.notRegex(handshake!.message, /timed out/);

    // The same bytes by hand: whatever comes back is an HTTP 400 or nothing.
    const hello = await captureClientHello();
    t.is(hello[0], 0x16, 'a TLS handshake record');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(hello));
      let text = '';
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer and no close')));
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    t.true(answer === '' || answer.startsWith('HTTP/1.1 400 '), JSON.stringify(answer.slice(0, 40)));
    t.log('answer to a raw ClientHello:', JSON.stringify(answer.split('\r\n')[0]));

    // Still serving, on new connections.
    for (let i = 0; i < 3; i++) t.is((await request(`${gateway.urls[0]}/v2/`)).status, 200);
    t.true(logs.lines().some((l) => l.tlsHandshake === true));
  } finally {
    await gateway.close();
  }
});

test('the gateway listens on IPv6 loopback with the [::1]:port form', async (t) => {
  const logs = captureLogger();
  let gateway;
  try {
    gateway = await runGateway(testConfig({ http: { addr: '[::1]:0' }, storageservice: { addr: upstream.addr } }), logs.logger);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return t.pass('no IPv6 loopback on this machine');
    throw err;
  }
  try {
    t.regex(gateway.urls[0]!, /^http:\/\/\[::1\]:\d+$/);
    t.is((await request(`${gateway.urls[0]}/v2/`)).status, 200);
  } finally {
    await gateway.close();
  }
});

/** The first bytes a TLS client sends, caught by a throwaway TCP server. */
function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        socket.destroy();
        server.close();
        resolve(chunk);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const client = tls.connect({ host: '127.0.0.1', port, servername: 'registry.test', rejectUnauthorized: false });
      client.on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

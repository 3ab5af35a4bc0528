// TLS as a scanner sees it: TLS 1.2 offers only forward-secret AEAD suites, a client cannot
// renegotiate, and plain HTTP sent to the TLS port gets registry:2's 400 instead of silence.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import test from 'ava';
import { makeCertificate, type MadeCertificate } from './helpers/certs.js';
import { startStack, type Stack } from './helpers/stack.js';

let dir: string;
let cert: MadeCertificate;
let stack: Stack;
let port: number;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gateway-tls-hardening-'));
  cert = await makeCertificate(join(dir, 'certs'), 'registry.test', '127.0.0.1');
  stack = await startStack({ config: { http: { tls: { certificate: cert.certificate, key: cert.key, minimumtls: 'tls1.2' } } } });
  port = Number(new URL(stack.gatewayUrl).port);
});
test.after.always(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function tls12(options: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: cert.caPem, servername: 'registry.test', maxVersion: 'TLSv1.2', ...options }, () => resolve(socket));
    socket.on('error', reject);
  });
}

test('TLS 1.2: forward-secret AEAD suites are accepted', async (t) => {
  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    const socket = await tls12({ ciphers: cipher });
    t.is(socket.getCipher().name, cipher);
    socket.destroy();
  }
});

test('TLS 1.2: suites without forward secrecy, and CBC suites, are refused', async (t) => {
  for (const cipher of ['AES128-GCM-SHA256', 'AES256-SHA256', 'AES128-SHA', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA256']) {
    await t.throwsAsync(tls12({ ciphers: cipher }), undefined, cipher);
  }
});

test('openssl s_client: a TLS 1.2 client offering only a CBC suite gets no handshake', async (t) => {
  const attempt = (cipher: string) =>
    new Promise<number>((resolve) => {
      const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', cipher], { timeout: 10_000 }, (err) =>
        resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
      );
      child.stdin?.end();
    });
  t.not(await attempt('ECDHE-ECDSA-AES128-SHA'), 0);
  t.not(await attempt('AES128-SHA256'), 0);
  t.is(await attempt('ECDHE-ECDSA-AES128-GCM-SHA256'), 0);
});

test('TLS 1.2: a client cannot renegotiate', async (t) => {
  const socket = await tls12();
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  const outcome = await new Promise<string>((resolve) => {
    const started = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? 'refused' : 'renegotiated'));
    if (!started) resolve('refused');
    socket.once('close', () => resolve('refused'));
    // The server answers with a no_renegotiation alert, which Node's client waits past.
    setTimeout(() => resolve('refused'), 3000);
  });
  t.is(outcome, 'refused');
});

test('plain HTTP sent to the TLS port gets a 400 answer, not silence', async (t) => {
  const answer = await new Promise<string>((resolve, reject) => {
    let received = '';
    const socket = netConnect({ host: '127.0.0.1', port }, () => socket.write('GET /v2/ HTTP/1.1\r\nHost: registry.test\r\n\r\n'));
    socket.setEncoding('latin1').on('data', (d: string) => (received += d));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 5000);
  });
  t.regex(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.regex(answer, /HTTP request to an HTTPS server/);
});

// HTTPS listeners with certificates made by certs/make-certs.sh: protocol floor, HTTP and HTTPS
// at once, reload on file change, a broken pair kept out, and Location URLs behind TLS.
// Serial: the tests read what the one recording upstream saw last.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../common/running-server.js';
import { runGateway } from '../../gateway/main.js';
import { testConfig } from '../helpers/config.js';
import { waitFor } from '../helpers/wait.js';
import { captureLogger } from './helpers/capture-logger.js';
import { makeCertificate, type MadeCertificate } from './helpers/certs.js';
import { request } from './helpers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from './helpers/recording-upstream.js';
import { startStack } from './helpers/stack.js';
import { handshake } from './helpers/tls-connect.js';

let dir: string;
let cert: MadeCertificate;
let upstream: RecordingUpstream;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gateway-tls-'));
  cert = await makeCertificate(join(dir, 'certs'), 'registry.test', '127.0.0.1');
  upstream = await startRecordingUpstream();
});
test.after.always(async () => {
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function withGateway(
  tls: { certificate: string; key: string; minimumtls?: 'tls1.2' | 'tls1.3'; addr?: string },
  body: (gateway: RunningServer) => Promise<void>,
  certificatePollMs = 2000,
  logs = captureLogger(),
): Promise<void> {
  const gateway = await runGateway(
    testConfig({ http: { tls: { minimumtls: 'tls1.2', ...tls } }, storageservice: { addr: upstream.addr } }),
    logs.logger,
    { certificatePollMs, closeGraceMs: 500 },
  );
  try {
    await body(gateway);
  } finally {
    await gateway.close();
  }
}

test.serial('http.addr speaks TLS when http.tls is set: TLS 1.2 accepted, TLS 1.1 refused by the server', async (t) => {
  await withGateway({ certificate: cert.certificate, key: cert.key }, async (gateway) => {
    t.is(gateway.urls.length, 1);
    t.true(gateway.urls[0]!.startsWith('https://127.0.0.1:'));
    const port = portOf(gateway.urls[0]!);
    const tls12 = await handshake(port, { ca: cert.caPem, servername: 'registry.test', maxVersion: 'TLSv1.2' });
    t.is(tls12.protocol, 'TLSv1.2');
    const tls13 = await handshake(port, { ca: cert.caPem, servername: 'registry.test' });
    t.is(tls13.protocol, 'TLSv1.3');
    // The client offers TLS 1.0-1.1 (lowering its own security level so it can): the server's
    // protocol_version alert is what refuses it.
    const refused = await t.throwsAsync(
      handshake(port, { ca: cert.caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    );
    t.is((refused as NodeJS.ErrnoException).code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    // A real request, verified against the CA through the IP SAN.
    const res = await request(`${gateway.urls[0]}/v2/`, { tls: { ca: cert.caPem } });
    t.is(res.status, 200);
    t.is(upstream.requests.at(-1)!.headers['x-forwarded-proto'], 'https');
  });
});

test.serial('minimumtls tls1.3 refuses TLS 1.2', async (t) => {
  await withGateway({ certificate: cert.certificate, key: cert.key, minimumtls: 'tls1.3' }, async (gateway) => {
    const port = portOf(gateway.urls[0]!);
    const refused = await t.throwsAsync(handshake(port, { ca: cert.caPem, servername: 'registry.test', maxVersion: 'TLSv1.2' }));
    t.is((refused as NodeJS.ErrnoException).code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    t.is((await handshake(port, { ca: cert.caPem, servername: 'registry.test' })).protocol, 'TLSv1.3');
  });
});

test.serial('with http.tls.addr, plain HTTP on http.addr and HTTPS on tls.addr serve at the same time', async (t) => {
  await withGateway({ certificate: cert.certificate, key: cert.key, addr: '127.0.0.1:0' }, async (gateway) => {
    t.is(gateway.urls.length, 2);
    const [plain, secure] = gateway.urls as [string, string];
    t.true(plain.startsWith('http://127.0.0.1:'));
    t.true(secure.startsWith('https://127.0.0.1:'));
    const [overHttp, overHttps] = await Promise.all([
      request(`${plain}/v2/`, { headers: { 'x-request-id': 'ignored-untrusted' } }),
      request(`${secure}/v2/`, { tls: { ca: cert.caPem } }),
    ]);
    t.is(overHttp.status, 200);
    t.is(overHttps.status, 200);
    const seen = upstream.requests.slice(-2).map((r) => r.headers['x-forwarded-proto']).sort();
    t.deepEqual(seen, ['http', 'https']);
  });
});

test.serial('replaced certificate files are picked up without a restart; a broken pair is refused and the old one kept', async (t) => {
  const live = join(dir, 'live');
  const first = await makeCertificate(join(dir, 'first'), 'registry.test', '127.0.0.1');
  const second = await makeCertificate(join(dir, 'second'), 'registry.test', '127.0.0.1');
  await makeCertificate(live, 'registry.test', '127.0.0.1'); // directory layout
  await copyFile(first.certificate, join(live, 'registry.test.crt'));
  await copyFile(first.key, join(live, 'registry.test.key'));
  const fingerprint = async (path: string) => new X509Certificate(await readFile(path)).fingerprint256;
  const firstPrint = await fingerprint(first.certificate);
  const secondPrint = await fingerprint(second.certificate);
  t.not(firstPrint, secondPrint);

  const logs = captureLogger();
  await withGateway(
    { certificate: join(live, 'registry.test.crt'), key: join(live, 'registry.test.key') },
    async (gateway) => {
      const port = portOf(gateway.urls[0]!);
      const shown = async () => (await handshake(port, { rejectUnauthorized: false })).fingerprint256;
      t.is(await shown(), firstPrint);

      // A certificate whose key is the wrong one: logged, ignored, the old pair still served.
      await writeFile(join(live, 'registry.test.crt.tmp'), await readFile(second.certificate));
      await rename(join(live, 'registry.test.crt.tmp'), join(live, 'registry.test.crt'));
      await waitFor(() => logs.lines().some((l) => String(l.msg).includes('change ignored')), 10_000);
      t.is(await shown(), firstPrint);
      // Garbage instead of a certificate: same.
      await writeFile(join(live, 'registry.test.crt'), 'not a certificate\n');
      await waitFor(() => logs.lines().filter((l) => String(l.msg).includes('change ignored')).length >= 2, 10_000);
      t.is(await shown(), firstPrint);

      // Now the matching key arrives too: the new pair is served to new connections.
      await writeFile(join(live, 'registry.test.crt'), await readFile(second.certificate));
      await writeFile(join(live, 'registry.test.key'), await readFile(second.key));
      await waitFor(async () => (await shown()) === secondPrint, 10_000);
      t.is(await shown(), secondPrint);
      const res = await request(`${gateway.urls[0]}/v2/`, { tls: { ca: second.caPem } });
      t.is(res.status, 200);
    },
    100,
    logs,
  );
  t.true(logs.lines().some((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint256 === secondPrint));
});

test.serial('behind TLS, storage builds https upload Locations (real storage)', async (t) => {
  const stack = await startStack({ config: { http: { tls: { certificate: cert.certificate, key: cert.key, minimumtls: 'tls1.2' } } } });
  try {
    const res = await request(`${stack.gatewayUrl}/v2/probe/tls/blobs/uploads/`, {
      method: 'POST',
      headers: { 'content-length': '0', host: 'registry.test:5443' },
      tls: { ca: cert.caPem, servername: 'registry.test' },
    });
    t.is(res.status, 202);
    t.true(String(res.headers.location).startsWith('https://registry.test:5443/v2/probe/tls/blobs/uploads/'));
  } finally {
    await stack.close();
  }
});



// File handoff: with storage on loopback and the data directory readable, the gateway sends blob
// downloads from the file storage names instead of relaying the bytes. The bytes, ranges and
// headers must be exactly storage's; without access to the data directory, or for a client
// that sends the internal headers itself, everything goes through storage as before.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { RunningServer } from '../../common/running-server.js';
import { runGateway } from '../../gateway/main.js';
import { runStorage } from '../../storage/main.js';
import { testConfig } from '../helpers/config.js';
import { captureLogger, type CapturedLogs } from './helpers/capture-logger.js';
import { request } from './helpers/http-client.js';
import { pushBlob, sha256Digest } from './helpers/registry-client.js';

interface Pair {
  gatewayUrl: string;
  gatewayLogs: CapturedLogs;
  storageLogs: CapturedLogs;
}

/** Storage and gateway as `registry start` runs them: storage on loopback, no storageservice.url. */
async function startPair(t: ExecutionContext, gatewayRoot?: string): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'file-handoff-'));
  const root = join(dir, 'data');
  const storageLogs = captureLogger('debug');
  const gatewayLogs = captureLogger('debug');
  const servers: RunningServer[] = [];
  t.teardown(async () => {
    for (const server of servers.reverse()) await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const storage = await runStorage(
    testConfig({ storage: { filesystem: { rootdirectory: root } }, storageservice: { addr: '127.0.0.1:0' } }),
    storageLogs.logger,
  );
  servers.push(storage);
  const storageAddr = new URL(storage.urls[0]!).host;
  const gateway = await runGateway(
    testConfig({ storage: { filesystem: { rootdirectory: gatewayRoot ?? root } }, storageservice: { addr: storageAddr } }),
    gatewayLogs.logger,
    { closeGraceMs: 500 },
  );
  servers.push(gateway);
  return { gatewayUrl: gateway.urls[0]!, gatewayLogs, storageLogs };
}

const handedOff = (logs: CapturedLogs) => logs.raw().includes('file handoff');

async function checkDownloads(t: ExecutionContext, pair: Pair, spoof = false): Promise<void> {
  const blob = randomBytes(5 * 1024 * 1024 + 123);
  const { digest } = await pushBlob(pair.gatewayUrl, 'team/app', blob);
  const extra: Record<string, string> = spoof ? { 'x-registry-file-handoff': '1', 'x-registry-file': 'docker/registry/v2/repositories' } : {};
  const url = `${pair.gatewayUrl}/v2/team/app/blobs/${digest}`;

  const whole = await request(url, { headers: extra });
  t.is(whole.status, 200);
  t.true(whole.body.equals(blob), 'the whole blob, byte for byte');
  t.is(whole.headers['content-length'], String(blob.length));
  t.is(whole.headers['docker-content-digest'], digest);
  t.is(whole.headers['content-type'], 'application/octet-stream');
  t.is(whole.headers['docker-distribution-api-version'], 'registry/2.0');
  t.is(whole.headers['x-registry-file'], undefined, 'internal headers never reach the client');

  const part = await request(url, { headers: { ...extra, range: 'bytes=1000-1999999' } });
  t.is(part.status, 206);
  t.is(part.headers['content-range'], `bytes 1000-1999999/${blob.length}`);
  t.true(part.body.equals(blob.subarray(1000, 2_000_000)));

  const head = await request(url, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(blob.length));

  const unknown = await request(`${pair.gatewayUrl}/v2/team/app/blobs/${sha256Digest(Buffer.from('nope'))}`);
  t.is(unknown.status, 404);
  t.is(JSON.parse(unknown.text).errors[0].code, 'BLOB_UNKNOWN');
}

test('storage hands blob files to a gateway that reads the data directory; bytes, ranges and headers are storage\'s', async (t) => {
  const pair = await startPair(t);
  await checkDownloads(t, pair);
  t.true(handedOff(pair.gatewayLogs), 'the gateway sent the files itself');
});

test('a gateway that cannot read the data directory gets the bytes relayed from storage', async (t) => {
  const elsewhere = await mkdtemp(join(tmpdir(), 'file-handoff-other-'));
  t.teardown(() => rm(elsewhere, { recursive: true, force: true }));
  const pair = await startPair(t, elsewhere);
  await checkDownloads(t, pair);
  t.false(handedOff(pair.gatewayLogs));
});

test("a client's own handoff headers are stripped: it gets the blob, never a file it names", async (t) => {
  const elsewhere = await mkdtemp(join(tmpdir(), 'file-handoff-other-'));
  t.teardown(() => rm(elsewhere, { recursive: true, force: true }));
  await checkDownloads(t, await startPair(t, elsewhere), true);
  await checkDownloads(t, await startPair(t), true);
});

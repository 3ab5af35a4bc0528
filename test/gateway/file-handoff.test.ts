// File handoff: with storage on loopback offering it (filesystem driver) and its directory
// readable, the gateway sends blob downloads from the file storage names instead of relaying the
// bytes. The bytes, ranges and headers must be exactly storage's; when storage does not offer it
// (storage elsewhere), or for a client that sends the internal headers itself, everything goes
// through storage as before; a file outside the directory storage declared is never sent, and
// one the gateway cannot open turns handoff off and is asked for again as bytes.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { RunningServer } from '../../common/running-server.js';
import { runGateway } from '../../gateway/main.js';
import { runStorage } from '../../storage/main.js';
import { testConfig } from '../helpers/config.js';
import { sha256 } from '../helpers/digest.js';
import { RegistryClient } from '../helpers/storage-http.js';
import { expectBlobDownload } from './helpers/blob-download.js';
import { captureLogger, type CapturedLogs } from './helpers/capture-logger.js';
import { request } from './helpers/http-client.js';
import { startRecordingUpstream } from './helpers/recording-upstream.js';

interface Pair {
  gatewayUrl: string;
  gatewayLogs: CapturedLogs;
  storageLogs: CapturedLogs;
}

/**
 * Storage and gateway as `registry start` runs them: storage on loopback, no storageservice.url.
 * `storageElsewhere`: the gateway reaches storage by storageservice.url, as when storage runs on
 * another machine, so handoff is not asked for.
 */
async function startPair(t: ExecutionContext, storageElsewhere = false): Promise<Pair> {
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
    testConfig({ storageservice: storageElsewhere ? { addr: storageAddr, url: storage.urls[0]! } : { addr: storageAddr } }),
    gatewayLogs.logger,
    { closeGraceMs: 500 },
  );
  servers.push(gateway);
  return { gatewayUrl: gateway.urls[0]!, gatewayLogs, storageLogs };
}

const handedOff = (logs: CapturedLogs) => logs.raw().includes('file handoff');

async function checkDownloads(t: ExecutionContext, pair: Pair, spoof = false): Promise<void> {
  const blob = randomBytes(5 * 1024 * 1024 + 123);
  const { digest } = await new RegistryClient(pair.gatewayUrl).uploadBlob('team/app', blob);
  const extra: Record<string, string> = spoof ? { 'x-registry-file-handoff': '1', 'x-registry-file': 'docker/registry/v2/repositories' } : {};
  const url = `${pair.gatewayUrl}/v2/team/app/blobs/${digest}`;

  await expectBlobDownload(t, url, blob, digest, { headers: extra, rangeEnd: 1_999_999, internalHeaders: ['x-registry-file'] });

  const head = await request(url, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(blob.length));

  const unknown = await request(`${pair.gatewayUrl}/v2/team/app/blobs/${sha256(Buffer.from('nope'))}`);
  t.is(unknown.status, 404);
  t.is(JSON.parse(unknown.text).errors[0].code, 'BLOB_UNKNOWN');
}

test('storage hands blob files to a gateway that reads the data directory; bytes, ranges and headers are storage\'s', async (t) => {
  const pair = await startPair(t);
  await checkDownloads(t, pair);
  t.true(handedOff(pair.gatewayLogs), 'the gateway sent the files itself');
});

test('a gateway that is not offered file handoff (storage elsewhere) gets the bytes relayed from storage', async (t) => {
  const pair = await startPair(t, true);
  await checkDownloads(t, pair);
  t.false(handedOff(pair.gatewayLogs));
});

test("a client's own handoff headers are stripped: it gets the blob, never a file it names", async (t) => {
  await checkDownloads(t, await startPair(t, true), true);
  await checkDownloads(t, await startPair(t), true);
});

test('a file outside the directory storage declared is refused, through a symbolic link too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'file-handoff-escape-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'data');
  await mkdir(root);
  await writeFile(join(dir, 'secret'), 'not a blob');
  await symlink(join(dir, 'secret'), join(root, 'link'));
  const named = [join(dir, 'secret'), join(root, 'link'), join(root, '..', 'secret')];
  const upstream = await startRecordingUpstream((req, res) => {
    if (req.url === '/v2/') res.setHeader('x-registry-file-root', root);
    else res.setHeader('x-registry-file', named.shift()!).setHeader('x-registry-handoff-range', '0-9');
    res.end();
  });
  t.teardown(() => upstream.close());
  const logs = captureLogger('debug');
  const gateway = await runGateway(testConfig({ storageservice: { addr: upstream.addr } }), logs.logger, { closeGraceMs: 200 });
  t.teardown(() => gateway.close());
  for (let i = 0; i < 3; i++) {
    const answer = await request(`${gateway.urls[0]}/v2/team/app/blobs/${sha256(Buffer.from('x'))}`);
    t.is(answer.status, 502);
    t.false(answer.text.includes('not a blob'));
  }
  t.true(logs.raw().includes('outside the directory it declared'));
});

test('a file the gateway cannot open turns handoff off, and the download is asked again without it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'file-handoff-other-view-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const asked: boolean[] = [];
  const upstream = await startRecordingUpstream((req, res) => {
    const wantsHandoff = req.headers['x-registry-file-handoff'] === '1';
    if (req.url === '/v2/') {
      if (wantsHandoff) res.setHeader('x-registry-file-root', root);
      res.end('{}');
      return;
    }
    asked.push(wantsHandoff);
    // As storage seen from another container: a file this process does not have.
    if (wantsHandoff) res.setHeader('x-registry-file', join(root, 'not-here')).setHeader('x-registry-handoff-range', '0-8').end();
    else res.setHeader('content-type', 'application/octet-stream').end('the bytes');
  });
  t.teardown(() => upstream.close());
  const logs = captureLogger('debug');
  const gateway = await runGateway(testConfig({ storageservice: { addr: upstream.addr } }), logs.logger, { closeGraceMs: 200 });
  t.teardown(() => gateway.close());
  const url = `${gateway.urls[0]}/v2/team/app/blobs/${sha256(Buffer.from('x'))}`;
  for (let i = 0; i < 2; i++) {
    const answer = await request(url);
    t.is(answer.status, 200);
    t.is(answer.text, 'the bytes');
  }
  t.deepEqual(asked, [true, false, false]);
  t.true(logs.raw().includes('file handoff turned off'));
});

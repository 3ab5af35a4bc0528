// URL handoff: with storage on S3 (Ceph RGW started here), storage answers a blob download with a
// short-lived signed URL and the gateway fetches the bytes from the bucket itself. The bytes,
// ranges and headers must be exactly storage's; a client's own handoff headers change nothing;
// a URL the gateway cannot fetch is asked for again as bytes (three failures in a row turn URL
// handoff off); a bucket that answers something else than the range is never relayed as the
// blob; a bucket failing mid-body cuts the client's body short; a URL that is not http(s) is
// never fetched.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { runGateway } from '../../gateway/main.js';
import { runStorage } from '../../storage/main.js';
import { testConfig } from '../helpers/config.js';
import { sha256 } from '../helpers/digest.js';
import { startRgw, type Rgw } from '../helpers/rgw.js';
import { RegistryClient } from '../helpers/storage-http.js';
import { expectBlobDownload } from './helpers/blob-download.js';
import { captureLogger, type CapturedLogs } from './helpers/capture-logger.js';
import { request } from './helpers/http-client.js';
import { startRecordingUpstream } from './helpers/recording-upstream.js';

let rgw: Rgw | undefined;
test.before(async () => {
  rgw = await startRgw();
});
test.after.always(async () => {
  await rgw?.stop();
});

interface Pair {
  gatewayUrl: string;
  gatewayLogs: CapturedLogs;
}

async function startPair(t: ExecutionContext, storageConfig: Record<string, unknown> = {}): Promise<Pair> {
  const bucket = await rgw!.newBucket();
  t.teardown(() => rgw!.dropBucket(bucket));
  const storage = await runStorage(
    testConfig({ storage: { driver: 's3', s3: rgw!.settings(bucket, { rootdirectory: '/registry' }), ...storageConfig }, storageservice: { addr: '127.0.0.1:0' } }),
    captureLogger().logger,
  );
  t.teardown(() => storage.close());
  const gatewayLogs = captureLogger('debug');
  const gateway = await runGateway(testConfig({ storageservice: { addr: new URL(storage.urls[0]!).host } }), gatewayLogs.logger, { closeGraceMs: 500 });
  t.teardown(() => gateway.close());
  return { gatewayUrl: gateway.urls[0]!, gatewayLogs };
}

const handedOff = (logs: CapturedLogs) => logs.raw().includes('(URL handoff)');

test('storage hands signed URLs to the gateway, which fetches the blob from the bucket; bytes, ranges and headers are storage\'s', async (t) => {
  const pair = await startPair(t);
  const blob = randomBytes(7 * 1024 * 1024 + 321);
  const { digest } = await new RegistryClient(pair.gatewayUrl).uploadBlob('team/app', blob);
  const url = `${pair.gatewayUrl}/v2/team/app/blobs/${digest}`;
  // A client naming a URL itself, or asking for handoff, changes nothing.
  const spoof = { 'x-registry-url-handoff': '1', 'x-registry-url': 'http://127.0.0.1:1/elsewhere', 'x-registry-handoff-range': '0-1' };
  for (const headers of [{}, spoof]) {
    await expectBlobDownload(t, url, blob, digest, { headers, rangeEnd: 5_999_999, internalHeaders: ['x-registry-url', 'x-registry-handoff-range'] });
  }
  t.true(handedOff(pair.gatewayLogs), 'the gateway fetched the bytes from the bucket itself');

  const head = await request(url, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(blob.length));
  const empty = await new RegistryClient(pair.gatewayUrl).uploadBlob('team/app', Buffer.alloc(0));
  const none = await request(`${pair.gatewayUrl}/v2/team/app/blobs/${empty.digest}`);
  t.is(none.status, 200);
  t.is(none.body.length, 0);
  const unknown = await request(`${pair.gatewayUrl}/v2/team/app/blobs/${sha256(Buffer.from('nope'))}`);
  t.is(unknown.status, 404);
  t.is(JSON.parse(unknown.text).errors[0].code, 'BLOB_UNKNOWN');
});

test('with storage.redirect the client is sent to the bucket (307), as in registry:2; no handoff', async (t) => {
  const pair = await startPair(t, { redirect: true });
  const blob = randomBytes(1024 * 1024);
  const { digest } = await new RegistryClient(pair.gatewayUrl).uploadBlob('team/app', blob);
  const answer = await request(`${pair.gatewayUrl}/v2/team/app/blobs/${digest}`);
  t.is(answer.status, 307);
  t.true((await request(answer.headers.location!)).body.equals(blob));
  t.false(handedOff(pair.gatewayLogs));
});

/** A stand-in for storage naming `url` for every blob download asked with handoff; relays `bytes` otherwise. */
async function namingStorage(t: ExecutionContext, url: string, range: string, bytes: string) {
  const asked: boolean[] = [];
  const upstream = await startRecordingUpstream((req, res) => {
    if (req.url === '/v2/') return void res.end('{}');
    const wantsHandoff = req.headers['x-registry-url-handoff'] === '1';
    asked.push(wantsHandoff);
    res.setHeader('content-type', 'application/octet-stream').setHeader('docker-content-digest', 'sha256:' + '0'.repeat(64));
    if (wantsHandoff) res.setHeader('x-registry-url', url).setHeader('x-registry-handoff-range', range).end();
    else res.end(bytes);
  });
  t.teardown(() => upstream.close());
  const logs = captureLogger('debug');
  const gateway = await runGateway(testConfig({ storageservice: { addr: upstream.addr } }), logs.logger, { closeGraceMs: 200 });
  t.teardown(() => gateway.close());
  return { asked, logs, blobUrl: `${gateway.urls[0]}/v2/team/app/blobs/${sha256(Buffer.from('x'))}` };
}

/** A stand-in for the bucket. */
async function startBucket(t: ExecutionContext, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/blob?X-Amz-Signature=x`;
}

test('a URL the gateway cannot fetch is asked for again as bytes; three failures in a row turn URL handoff off', async (t) => {
  const closed = await startBucket(t, () => undefined);
  const { asked, logs, blobUrl } = await namingStorage(t, closed.replace(/:\d+\//, ':1/'), '0-8', 'the bytes');
  for (let i = 0; i < 4; i++) {
    const answer = await request(blobUrl);
    t.is(answer.status, 200);
    t.is(answer.text, 'the bytes');
  }
  t.deepEqual(asked, [true, false, true, false, true, false, false]);
  t.true(logs.raw().includes('URL handoff turned off'));
});

test('a bucket answering an error or another length is not relayed as the blob: storage is asked for the bytes', async (t) => {
  const answers = [
    (res: http.ServerResponse) => res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>'),
    (res: http.ServerResponse) => res.writeHead(200, { 'content-length': '4' }).end('abcd'),
  ];
  const bucket = await startBucket(t, (_req, res) => answers.shift()!(res));
  const { asked, logs, blobUrl } = await namingStorage(t, bucket, '0-8', 'the bytes');
  for (let i = 0; i < 2; i++) {
    const answer = await request(blobUrl);
    t.is(answer.status, 200);
    t.is(answer.text, 'the bytes');
  }
  t.deepEqual(asked, [true, false, true, false]);
  t.false(logs.raw().includes('URL handoff turned off'), 'the bucket answered: handoff stays on');
});

test('a bucket failing in the middle of the body cuts the client short; the range asked is the one storage named', async (t) => {
  const ranges: Array<string | undefined> = [];
  const bucket = await startBucket(t, (req, res) => {
    ranges.push(req.headers.range);
    res.writeHead(206, { 'content-length': '1000' });
    res.write(Buffer.alloc(400, 1), () => res.destroy());
  });
  const { blobUrl } = await namingStorage(t, bucket, '5-1004', 'unused');
  const error = await request(blobUrl).then(
    (answer) => new Error(`a complete answer: ${answer.status}, ${answer.body.length} bytes`),
    (err: Error) => err,
  );
  t.regex(error.message, /aborted|socket hang up|ECONNRESET|premature|terminated/i);
  t.deepEqual(ranges, ['bytes=5-1004']);
});

test('a URL that is not http(s) is never fetched: 502, nothing sent', async (t) => {
  const { logs, blobUrl } = await namingStorage(t, 'file:///etc/passwd', '0-8', 'unused');
  const answer = await request(blobUrl);
  t.is(answer.status, 502);
  t.false(answer.text.includes('root:'));
  t.true(logs.raw().includes('not http(s)'));
});

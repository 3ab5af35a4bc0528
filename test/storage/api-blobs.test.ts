// `GET /v2/`, blob downloads (whole, HEAD, ranges) and blob deletion, against the real storage
// service on a temporary root directory.
import test from 'ava';
import { assertApiVersion, assertOciError } from '../helpers/storage-assert.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let noDelete: TestStorage;
let client: RegistryClient;

test.before(async () => {
  storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  noDelete = await startStorage();
  client = new RegistryClient(storage.url);
});

test.after.always(async () => {
  await storage?.close();
  await noDelete?.close();
});

test('GET /v2/ answers 200 with a JSON body and the API version', async (t) => {
  for (const path of ['/v2/', '/v2']) {
    const res = await client.send(path);
    t.is(res.status, 200, path);
    assertApiVersion(t, res);
    t.regex(res.header('content-type'), /^application\/json/);
    t.deepEqual(res.json(), {});
  }
  const head = await client.send('/v2/', { method: 'HEAD' });
  t.is(head.status, 200);
  assertApiVersion(t, head);
  t.is(head.body.length, 0);
});

test('GET and HEAD of a blob: bytes and headers', async (t) => {
  const data = uniqueBlob(300_000);
  const digest = await client.pushBlob('blobs/get', data);
  const res = await client.getBlob('blobs/get', digest);
  t.is(res.status, 200);
  assertApiVersion(t, res);
  t.true(res.body.equals(data), 'same bytes');
  t.is(res.header('content-length'), String(data.length));
  t.is(res.header('docker-content-digest'), digest);
  t.is(res.header('etag'), `"${digest}"`);
  t.is(res.header('content-type'), 'application/octet-stream');
  t.is(res.header('accept-ranges'), 'bytes');

  const head = await client.getBlob('blobs/get', digest, {}, 'HEAD');
  t.is(head.status, 200);
  assertApiVersion(t, head);
  t.is(head.header('content-length'), String(data.length));
  t.is(head.header('docker-content-digest'), digest);
  t.is(head.body.length, 0);
});

test('an empty blob can be pushed and read', async (t) => {
  const digest = await client.pushBlob('blobs/empty', Buffer.alloc(0));
  t.is(digest, sha256(''));
  const res = await client.getBlob('blobs/empty', digest);
  t.is(res.status, 200);
  t.is(res.body.length, 0);
  t.is(res.header('content-length'), '0');
});

test('a blob unknown to the registry, or to this repository, is 404 BLOB_UNKNOWN', async (t) => {
  const unknown = sha256('never pushed anywhere');
  assertOciError(t, await client.getBlob('blobs/unknown', unknown), 404, 'BLOB_UNKNOWN', 'unknown digest');
  const head = await client.getBlob('blobs/unknown', unknown, {}, 'HEAD');
  t.is(head.status, 404);
  assertApiVersion(t, head);
  t.is(head.body.length, 0, 'HEAD has no body');

  const digest = await client.pushBlob('blobs/owner', uniqueBlob(100));
  assertOciError(t, await client.getBlob('blobs/stranger', digest), 404, 'BLOB_UNKNOWN', 'blob of another repository');
  t.is((await client.getBlob('blobs/stranger', digest, {}, 'HEAD')).status, 404);
});

test('Range requests: 206 with Content-Range, open and suffix ranges, clipped ends', async (t) => {
  const data = uniqueBlob(10_000);
  const digest = await client.pushBlob('blobs/range', data);
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=10-19', 10, 19],
    ['bytes=9000-', 9000, 9999],
    ['bytes=-100', 9900, 9999],
    ['bytes=-20000', 0, 9999],
    ['bytes=9990-20000', 9990, 9999],
    ['bytes=0-9999', 0, 9999],
  ];
  for (const [range, start, end] of cases) {
    const res = await client.getBlob('blobs/range', digest, { range });
    t.is(res.status, 206, range);
    t.is(res.header('content-range'), `bytes ${start}-${end}/${data.length}`, range);
    t.is(res.header('content-length'), String(end - start + 1), range);
    t.true(res.body.equals(data.subarray(start, end + 1)), `${range} bytes`);
    const head = await client.getBlob('blobs/range', digest, { range }, 'HEAD');
    t.is(head.status, 206, `HEAD ${range}`);
    t.is(head.header('content-length'), String(end - start + 1), `HEAD ${range}`);
  }
});

test('unsatisfiable ranges are 416 with Content-Range bytes */size', async (t) => {
  const data = uniqueBlob(1000);
  const digest = await client.pushBlob('blobs/range416', data);
  for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=500-100', 'bytes=-0', 'bytes=abc', 'items=0-1']) {
    const res = await client.getBlob('blobs/range416', digest, { range });
    t.is(res.status, 416, range);
    assertApiVersion(t, res);
    t.is(res.header('content-range'), `bytes */${data.length}`, range);
    const body = res.json<{ errors: Array<{ code: string; message: string }> }>();
    t.regex(body.errors[0]!.message, /range/i, `${range}: the message says what is wrong`);
  }
  t.is((await client.getBlob('blobs/range416', digest)).status, 200, 'the blob is still served whole');
});

test('DELETE of a blob unlinks it from the repository only', async (t) => {
  const data = uniqueBlob(2048);
  const digest = await client.pushBlob('blobs/del-a', data);
  await client.pushBlob('blobs/del-b', data);
  const res = await client.send(`/v2/blobs/del-a/blobs/${digest}`, { method: 'DELETE' });
  t.is(res.status, 202);
  assertApiVersion(t, res);
  t.is(res.header('docker-content-digest'), digest);
  t.is(res.body.length, 0);
  assertOciError(t, await client.getBlob('blobs/del-a', digest), 404, 'BLOB_UNKNOWN', 'after delete');
  t.true((await client.getBlob('blobs/del-b', digest)).body.equals(data), 'the other repository keeps it');
  assertOciError(t, await client.send(`/v2/blobs/del-a/blobs/${digest}`, { method: 'DELETE' }), 404, 'BLOB_UNKNOWN', 'twice');
});

test('with deletion disabled, DELETE of a blob or manifest is 405 UNSUPPORTED and nothing goes', async (t) => {
  const other = new RegistryClient(noDelete.url);
  const data = uniqueBlob(512);
  const digest = await other.pushBlob('blobs/nodelete', data);
  assertOciError(t, await other.send(`/v2/blobs/nodelete/blobs/${digest}`, { method: 'DELETE' }), 405, 'UNSUPPORTED', 'blob');
  assertOciError(t, await other.send('/v2/blobs/nodelete/manifests/latest', { method: 'DELETE' }), 405, 'UNSUPPORTED', 'tag');
  assertOciError(t, await other.send(`/v2/blobs/nodelete/manifests/${digest}`, { method: 'DELETE' }), 405, 'UNSUPPORTED', 'digest');
  t.true((await other.getBlob('blobs/nodelete', digest)).body.equals(data));
});

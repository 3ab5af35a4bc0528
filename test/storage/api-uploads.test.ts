// Blob uploads end to end: monolithic POST, cross-repository mounts, streamed and chunked PATCH,
// status, completion with and without a final body, wrong digests, cancellation.
import test from 'ava';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { assertApiVersion, assertOciError } from '../helpers/storage-assert.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { locationPath, RegistryClient, sha256, withQuery, type HttpResponse } from '../helpers/storage-http.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let client: RegistryClient;

test.before(async () => {
  storage = await startStorage();
  client = new RegistryClient(storage.url);
});

test.after.always(async () => {
  await storage?.close();
});

const UUID_PATH = /^\/v2\/([a-z0-9/._-]+)\/blobs\/uploads\/([A-Za-z0-9_-]+)(\?.*)?$/;

/** Sessions still on disk for a repository (none may be left after a completion or a failure). */
async function sessionsOnDisk(name: string): Promise<string[]> {
  const tree = await listTree(join(storage.root, 'docker/registry/v2/repositories', name, '_uploads'));
  return tree.filter((path) => /^[^/]+\/$/.test(path));
}

function assertSessionAnswer(t: import('ava').ExecutionContext, res: HttpResponse, status: number, name: string, size: number): string {
  t.is(res.status, status, res.text);
  assertApiVersion(t, res);
  const location = res.header('location');
  t.true(location.startsWith(`${storage.url}/v2/${name}/blobs/uploads/`), `absolute Location ${location}`);
  const match = UUID_PATH.exec(locationPath(location));
  t.truthy(match, `Location names the session: ${location}`);
  t.is(res.header('docker-upload-uuid'), match?.[2] ?? 'no uuid in Location');
  t.is(res.header('range'), `0-${size > 0 ? size - 1 : 0}`);
  // A 204 carries no Content-Length at all (RFC 9110); a 202 says 0.
  t.is(res.header('content-length'), status === 204 ? '' : '0');
  t.is(res.body.length, 0, 'no body');
  return locationPath(location);
}

function assertBlobCreated(t: import('ava').ExecutionContext, res: HttpResponse, name: string, digest: string): void {
  t.is(res.status, 201, res.text);
  assertApiVersion(t, res);
  t.is(res.header('location'), `${storage.url}/v2/${name}/blobs/${digest}`);
  t.is(res.header('docker-content-digest'), digest);
  t.is(res.body.length, 0, 'no body');
}

async function assertBlob(t: import('ava').ExecutionContext, name: string, data: Buffer): Promise<void> {
  const res = await client.getBlob(name, sha256(data));
  t.is(res.status, 200);
  t.true(res.body.equals(data), `blob of ${data.length} bytes reads back whole`);
}

test('monolithic POST ?digest= with the body: 201, Location, digest, readable at once', async (t) => {
  const data = uniqueBlob(200_000);
  const digest = sha256(data);
  const res = await client.send(`/v2/up/mono/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  assertBlobCreated(t, res, 'up/mono', digest);
  await assertBlob(t, 'up/mono', data);
  t.deepEqual(await sessionsOnDisk('up/mono'), []);
});

test('monolithic POST with a chunked (no Content-Length) body', async (t) => {
  const data = uniqueBlob(500_000);
  const digest = sha256(data);
  const body = Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]);
  const res = await client.send(`/v2/up/mono-chunked/blobs/uploads/?digest=${digest}`, { method: 'POST', body });
  assertBlobCreated(t, res, 'up/mono-chunked', digest);
  await assertBlob(t, 'up/mono-chunked', data);
});

test('monolithic POST with a wrong digest: 400 DIGEST_INVALID and nothing visible', async (t) => {
  const data = uniqueBlob(1000);
  const claimed = sha256('something else');
  const res = await client.send(`/v2/up/mono-bad/blobs/uploads/?digest=${claimed}`, { method: 'POST', body: data });
  assertOciError(t, res, 400, 'DIGEST_INVALID');
  t.is((await client.getBlob('up/mono-bad', claimed, {}, 'HEAD')).status, 404);
  t.is((await client.getBlob('up/mono-bad', sha256(data), {}, 'HEAD')).status, 404);
  t.deepEqual(await sessionsOnDisk('up/mono-bad'), [], 'the failed session is gone');
  const blobs = (await listTree(join(storage.root, 'docker/registry/v2/blobs'))).filter(
    (p) => p.includes(sha256(data).slice(7)) || p.includes(claimed.slice(7)),
  );
  t.deepEqual(blobs, [], 'no blob data under either digest');

  const malformed = await client.send('/v2/up/mono-bad/blobs/uploads/?digest=sha256:abc', { method: 'POST', body: data });
  assertOciError(t, malformed, 400, 'DIGEST_INVALID', 'malformed digest');
  t.deepEqual(await sessionsOnDisk('up/mono-bad'), [], 'a malformed digest leaves no orphan session');
});

test('POST starts a session: 202 with Location, Docker-Upload-UUID, Range 0-0; GET status is 204', async (t) => {
  const res = await client.send('/v2/up/session/blobs/uploads/', { method: 'POST' });
  const path = assertSessionAnswer(t, res, 202, 'up/session', 0);
  const status = await client.send(path);
  assertSessionAnswer(t, status, 204, 'up/session', 0);
  t.is(status.header('docker-upload-uuid'), res.header('docker-upload-uuid'));
  const noSlash = await client.send('/v2/up/session/blobs/uploads', { method: 'POST' });
  assertSessionAnswer(t, noSlash, 202, 'up/session', 0);
});

test('streamed PATCH (one big body) then PUT ?digest= without a body', async (t) => {
  const data = uniqueBlob(3 * 1024 * 1024 + 17);
  const start = await client.startUpload('up/streamed');
  const patched = await client.send(start, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: Readable.from([data]) });
  const next = assertSessionAnswer(t, patched, 202, 'up/streamed', data.length);
  assertSessionAnswer(t, await client.send(next), 204, 'up/streamed', data.length);
  const done = await client.send(withQuery(next, 'digest', sha256(data)), { method: 'PUT' });
  assertBlobCreated(t, done, 'up/streamed', sha256(data));
  await assertBlob(t, 'up/streamed', data);
  t.deepEqual(await sessionsOnDisk('up/streamed'), []);
  assertOciError(t, await client.send(next), 404, 'BLOB_UPLOAD_UNKNOWN', 'the session ends with the upload');
});

test('chunked PATCH with Content-Range, then PUT with the final chunk as body', async (t) => {
  const data = uniqueBlob(250_000);
  let path = await client.startUpload('up/chunked');
  const cuts = [0, 100_000, 100_001, 200_000];
  for (let i = 0; i < cuts.length - 1; i++) {
    const [from, to] = [cuts[i]!, cuts[i + 1]!];
    const res = await client.send(path, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}` },
      body: data.subarray(from, to),
    });
    path = assertSessionAnswer(t, res, 202, 'up/chunked', to);
  }
  const done = await client.send(withQuery(path, 'digest', sha256(data)), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: data.subarray(200_000),
  });
  assertBlobCreated(t, done, 'up/chunked', sha256(data));
  await assertBlob(t, 'up/chunked', data);
});

test('an out-of-order or repeated chunk is 416 with the current Range, and the upload goes on', async (t) => {
  const data = uniqueBlob(3000);
  const path = await client.startUpload('up/order');
  const first = await client.send(path, { method: 'PATCH', headers: { 'content-range': '0-999' }, body: data.subarray(0, 1000) });
  t.is(first.status, 202);
  const uuid = first.header('docker-upload-uuid');
  for (const [range, body] of [
    ['2000-2999', data.subarray(2000)],
    ['0-999', data.subarray(0, 1000)],
    ['500-1499', data.subarray(500, 1500)],
  ] as const) {
    const res = await client.send(path, { method: 'PATCH', headers: { 'content-range': range }, body });
    assertOciError(t, res, 416, 'BLOB_UPLOAD_INVALID', range);
    t.is(res.header('range'), '0-999', `${range}: the current range`);
    t.is(res.header('docker-upload-uuid'), uuid);
  }
  assertSessionAnswer(t, await client.send(path), 204, 'up/order', 1000);
  const rest = await client.send(path, { method: 'PATCH', headers: { 'content-range': '1000-2999' }, body: data.subarray(1000) });
  t.is(rest.status, 202);
  const done = await client.send(withQuery(path, 'digest', sha256(data)), { method: 'PUT' });
  assertBlobCreated(t, done, 'up/order', sha256(data));
  await assertBlob(t, 'up/order', data);
});

test('malformed Content-Range, or one that disagrees with Content-Length, is refused', async (t) => {
  const path = await client.startUpload('up/badrange');
  const bad = await client.send(path, { method: 'PATCH', headers: { 'content-range': 'bytes=zero-ten' }, body: 'x' });
  t.true(bad.status === 400 || bad.status === 416, `malformed: ${bad.status}`);
  assertOciError(t, bad, bad.status, 'BLOB_UPLOAD_INVALID', 'malformed');
  const backwards = await client.send(path, { method: 'PATCH', headers: { 'content-range': '10-5' }, body: 'x' });
  t.true(backwards.status === 400 || backwards.status === 416, `end before start: ${backwards.status}`);
  const mismatch = await client.send(path, { method: 'PATCH', headers: { 'content-range': '0-99' }, body: Buffer.alloc(50) });
  assertOciError(t, mismatch, 400, 'SIZE_INVALID', 'range says 100 bytes, body has 50');
  assertSessionAnswer(t, await client.send(path), 204, 'up/badrange', 0);
});

test('PUT with a wrong digest: 400 DIGEST_INVALID, nothing visible, the session is gone', async (t) => {
  const data = uniqueBlob(64 * 1024);
  const path = await client.startUpload('up/wrong');
  t.is((await client.send(path, { method: 'PATCH', body: data })).status, 202);
  const claimed = sha256(Buffer.concat([data, Buffer.from('x')]));
  const res = await client.send(withQuery(path, 'digest', claimed), { method: 'PUT' });
  assertOciError(t, res, 400, 'DIGEST_INVALID');
  t.is((await client.getBlob('up/wrong', claimed, {}, 'HEAD')).status, 404);
  t.is((await client.getBlob('up/wrong', sha256(data), {}, 'HEAD')).status, 404);
  assertOciError(t, await client.send(path), 404, 'BLOB_UPLOAD_UNKNOWN', 'session after the failure');
  t.deepEqual(await sessionsOnDisk('up/wrong'), []);
});

test('PUT without a digest, or with a malformed one, is 400 DIGEST_INVALID and keeps the session', async (t) => {
  const path = await client.startUpload('up/nodigest');
  t.is((await client.send(path, { method: 'PATCH', body: 'abc' })).status, 202);
  assertOciError(t, await client.send(path, { method: 'PUT' }), 400, 'DIGEST_INVALID', 'no digest');
  for (const digest of ['sha256:abc', 'md5:' + 'a'.repeat(32), 'sha256:' + 'G'.repeat(64), 'nonsense']) {
    assertOciError(t, await client.send(withQuery(path, 'digest', digest), { method: 'PUT' }), 400, 'DIGEST_INVALID', digest);
  }
  const done = await client.send(withQuery(path, 'digest', sha256('abc')), { method: 'PUT' });
  assertBlobCreated(t, done, 'up/nodigest', sha256('abc'));
});

test('DELETE of a session: 204, then the session is unknown', async (t) => {
  const path = await client.startUpload('up/cancel');
  t.is((await client.send(path, { method: 'PATCH', body: uniqueBlob(5000) })).status, 202);
  const res = await client.send(path, { method: 'DELETE' });
  t.is(res.status, 204);
  assertApiVersion(t, res);
  assertOciError(t, await client.send(path), 404, 'BLOB_UPLOAD_UNKNOWN', 'status after cancel');
  assertOciError(t, await client.send(path, { method: 'PATCH', body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH after cancel');
  assertOciError(t, await client.send(withQuery(path, 'digest', sha256('x')), { method: 'PUT' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT after cancel');
  assertOciError(t, await client.send(path, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'cancel twice');
  t.deepEqual(await sessionsOnDisk('up/cancel'), []);
});

test('an unknown session id, or a session of another repository, is 404 BLOB_UPLOAD_UNKNOWN', async (t) => {
  const unknown = '/v2/up/unknown/blobs/uploads/7d5c9d4e-0000-4000-8000-000000000000';
  assertOciError(t, await client.send(unknown), 404, 'BLOB_UPLOAD_UNKNOWN', 'GET');
  assertOciError(t, await client.send(unknown, { method: 'PATCH', body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PATCH');
  assertOciError(t, await client.send(`${unknown}?digest=${sha256('x')}`, { method: 'PUT', body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'PUT');
  assertOciError(t, await client.send(unknown, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'DELETE');
  const path = await client.startUpload('up/mine');
  const stolen = path.replace('/v2/up/mine/', '/v2/up/theirs/');
  assertOciError(t, await client.send(stolen, { method: 'PATCH', body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN', 'another repository');
  assertSessionAnswer(t, await client.send(path), 204, 'up/mine', 0);
});

test('cross-repository mount: 201 when the source repository has the blob', async (t) => {
  const data = uniqueBlob(4096);
  const digest = await client.pushBlob('mount/source', data);
  const res = await client.send(`/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`, { method: 'POST' });
  assertBlobCreated(t, res, 'mount/target', digest);
  await assertBlob(t, 'mount/target', data);
  t.deepEqual(await sessionsOnDisk('mount/target'), [], 'a mount opens no session');
});

test('cross-repository mount falls back to a new session (202) when it cannot mount', async (t) => {
  const data = uniqueBlob(4096);
  const digest = await client.pushBlob('mount/holder', data);
  const cases = [
    [`?mount=${digest}&from=mount/empty-repo`, 'a repository without the blob (the blob exists elsewhere)'],
    [`?mount=${sha256('nowhere at all')}&from=mount/holder`, 'a blob the registry does not have'],
    [`?mount=${digest}`, 'no from'],
  ] as const;
  for (const [query, what] of cases) {
    const res = await client.send(`/v2/mount/fallback/blobs/uploads/${query}`, { method: 'POST' });
    const path = assertSessionAnswer(t, res, 202, 'mount/fallback', 0);
    t.is((await client.getBlob('mount/fallback', digest, {}, 'HEAD')).status, 404, `${what}: not linked`);
    await client.send(path, { method: 'DELETE' });
  }
  // The fallback session is a real one: the client uploads the blob through it.
  const res = await client.send(`/v2/mount/fallback/blobs/uploads/?mount=${digest}&from=mount/empty-repo`, { method: 'POST' });
  const path = locationPath(res.header('location'));
  const done = await client.send(withQuery(path, 'digest', digest), { method: 'PUT', body: data });
  assertBlobCreated(t, done, 'mount/fallback', digest);
  await assertBlob(t, 'mount/fallback', data);
});

test('cross-repository mount with an invalid digest or source name is refused', async (t) => {
  assertOciError(t, await client.send('/v2/mount/x/blobs/uploads/?mount=sha256:abc&from=mount/source', { method: 'POST' }), 400, 'DIGEST_INVALID');
  const digest = sha256('whatever');
  assertOciError(t, await client.send(`/v2/mount/x/blobs/uploads/?mount=${digest}&from=../../etc`, { method: 'POST' }), 400, 'NAME_INVALID');
  t.deepEqual(await sessionsOnDisk('mount/x'), []);
});

test('the same blob pushed twice into a repository is fine', async (t) => {
  const data = uniqueBlob(10_000);
  await client.pushBlob('up/twice', data);
  await client.pushBlobStreamed('up/twice', data);
  await assertBlob(t, 'up/twice', data);
});

test('sha512 digests work for monolithic and streamed uploads', async (t) => {
  const sha512 = (data: Buffer) => `sha512:${createHash('sha512').update(data).digest('hex')}`;
  const mono = uniqueBlob(1000);
  const res = await client.send(`/v2/up/sha512/blobs/uploads/?digest=${sha512(mono)}`, { method: 'POST', body: mono });
  assertBlobCreated(t, res, 'up/sha512', sha512(mono));
  const streamed = uniqueBlob(70_000);
  const path = await client.startUpload('up/sha512');
  t.is((await client.send(path, { method: 'PATCH', body: streamed })).status, 202);
  assertBlobCreated(t, await client.send(withQuery(path, 'digest', sha512(streamed)), { method: 'PUT' }), 'up/sha512', sha512(streamed));
  for (const data of [mono, streamed]) {
    const read = await client.getBlob('up/sha512', sha512(data));
    t.is(read.status, 200);
    t.true(read.body.equals(data));
    t.is(read.header('docker-content-digest'), sha512(data));
  }
});

// Manifests by tag and digest: every supported kind (OCI manifest and index, Docker schema 2 and
// manifest list, an OCI artifact with the empty config), byte-for-byte storage and the headers
// they are served with, every validation error, tag and manifest deletion.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { assertApiVersion, assertOciError } from '../helpers/storage-assert.js';
import {
  artifactManifest,
  descriptorOf,
  EMPTY_CONFIG,
  indexOf,
  jsonBytes,
  MEDIA,
  pushImage,
  uniqueBlob,
} from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256, type HttpResponse } from '../helpers/storage-http.js';
import { startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let client: RegistryClient;

test.before(async () => {
  storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  client = new RegistryClient(storage.url);
});

test.after.always(async () => {
  await storage?.close();
});

/** GET and HEAD by `reference` serve exactly `body` with the right headers. */
async function assertServed(t: ExecutionContext, name: string, reference: string, body: Buffer, mediaType: string): Promise<void> {
  const digest = sha256(body);
  const check = (res: HttpResponse, method: string) => {
    t.is(res.status, 200, `${method} ${name}:${reference} ${res.text.slice(0, 200)}`);
    assertApiVersion(t, res);
    t.is(res.header('content-type'), mediaType, `${method} Content-Type`);
    t.is(res.header('docker-content-digest'), digest, `${method} Docker-Content-Digest`);
    t.is(res.header('etag'), `"${digest}"`, `${method} ETag`);
    t.is(res.header('content-length'), String(body.length), `${method} Content-Length`);
  };
  const get = await client.getManifest(name, reference);
  check(get, 'GET');
  t.true(get.body.equals(body), 'byte for byte');
  const head = await client.getManifest(name, reference, 'HEAD');
  check(head, 'HEAD');
  t.is(head.body.length, 0);
}

function assertCreated(t: ExecutionContext, res: HttpResponse, name: string, body: Buffer): void {
  const digest = sha256(body);
  t.is(res.status, 201, res.text);
  assertApiVersion(t, res);
  t.is(res.header('docker-content-digest'), digest);
  t.is(res.header('location'), `${storage.url}/v2/${name}/manifests/${digest}`);
  t.is(res.body.length, 0);
}

test('OCI image manifest: PUT by tag, GET/HEAD by tag and by digest', async (t) => {
  const image = await pushImage(client, 'man/oci', { layerSizes: [1000, 2000], tag: 'v1' });
  t.is(image.digest, sha256(image.manifest));
  await assertServed(t, 'man/oci', 'v1', image.manifest, MEDIA.ociManifest);
  await assertServed(t, 'man/oci', image.digest, image.manifest, MEDIA.ociManifest);
  t.deepEqual(await client.tags('man/oci'), ['v1']);
});

test('PUT answers 201 with Location and Docker-Content-Digest, and no body', async (t) => {
  const layer = uniqueBlob(100);
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  await client.pushBlob('man/created', layer);
  await client.pushBlob('man/created', config);
  const body = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(MEDIA.ociConfig, config),
    layers: [descriptorOf(MEDIA.ociLayer, layer)],
  });
  assertCreated(t, await client.putManifest('man/created', 'latest', body, MEDIA.ociManifest), 'man/created', body);
  assertCreated(t, await client.putManifest('man/created', sha256(body), body, MEDIA.ociManifest), 'man/created', body);
});

test('odd whitespace and key order are kept byte for byte; the digest is of what was sent', async (t) => {
  const layer = uniqueBlob(64);
  const config = Buffer.from('{}');
  await client.pushBlob('man/bytes', layer);
  await client.pushBlob('man/bytes', config);
  const text =
    '  {\n\t"layers" : [ ' +
    JSON.stringify(descriptorOf(MEDIA.ociLayer, layer)) +
    ' ] ,\r\n   "schemaVersion":2,"config":' +
    JSON.stringify(descriptorOf(MEDIA.ociConfig, config), null, 7) +
    ',   "mediaType":  "' +
    MEDIA.ociManifest +
    '" ,"annotations":{"note":"caf\u00e9 \u2603"}}\n\n';
  const body = Buffer.from(text, 'utf8');
  const res = await client.putManifest('man/bytes', 'odd', body, MEDIA.ociManifest);
  assertCreated(t, res, 'man/bytes', body);
  await assertServed(t, 'man/bytes', 'odd', body, MEDIA.ociManifest);
});

test('OCI image index over two platform images, and the index pushed by digest', async (t) => {
  const amd = await pushImage(client, 'man/index', { platform: { os: 'linux', architecture: 'amd64' } });
  const arm = await pushImage(client, 'man/index', { platform: { os: 'linux', architecture: 'arm64' } });
  const index = indexOf([amd, arm]);
  assertCreated(t, await client.putManifest('man/index', 'multi', index.body, index.mediaType), 'man/index', index.body);
  await assertServed(t, 'man/index', 'multi', index.body, MEDIA.ociIndex);
  await assertServed(t, 'man/index', amd.digest, amd.manifest, MEDIA.ociManifest);
  const byDigest = indexOf([arm]);
  assertCreated(t, await client.putManifest('man/index', sha256(byDigest.body), byDigest.body, byDigest.mediaType), 'man/index', byDigest.body);
  await assertServed(t, 'man/index', sha256(byDigest.body), byDigest.body, MEDIA.ociIndex);
  t.deepEqual(await client.tags('man/index'), ['multi'], 'a push by digest makes no tag');
});

test('Docker schema 2 manifest and Docker manifest list', async (t) => {
  const one = await pushImage(client, 'man/docker', { flavor: 'docker', tag: 'one' });
  const two = await pushImage(client, 'man/docker', { flavor: 'docker', platform: { os: 'linux', architecture: 'arm64' } });
  await assertServed(t, 'man/docker', 'one', one.manifest, MEDIA.dockerManifest);
  const list = indexOf([one, two], 'docker');
  assertCreated(t, await client.putManifest('man/docker', 'list', list.body, list.mediaType), 'man/docker', list.body);
  await assertServed(t, 'man/docker', 'list', list.body, MEDIA.dockerList);
});

test('an OCI artifact with artifactType and the empty config', async (t) => {
  t.is(sha256(EMPTY_CONFIG), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  await client.pushBlob('man/artifact', EMPTY_CONFIG);
  const layer = Buffer.from('a signature, an SBOM, anything');
  await client.pushBlob('man/artifact', layer);
  const body = artifactManifest(undefined, 'application/vnd.example.sbom.v1+json', layer);
  assertCreated(t, await client.putManifest('man/artifact', 'sbom', body, MEDIA.ociManifest), 'man/artifact', body);
  await assertServed(t, 'man/artifact', 'sbom', body, MEDIA.ociManifest);
});

test('a manifest without mediaType is served with the type it was pushed as', async (t) => {
  const image = await pushImage(client, 'man/notype');
  const index = jsonBytes({ schemaVersion: 2, manifests: [image.descriptor] });
  assertCreated(t, await client.putManifest('man/notype', 'idx', index, MEDIA.ociIndex), 'man/notype', index);
  await assertServed(t, 'man/notype', 'idx', index, MEDIA.ociIndex);
});

test('a tag moves to the last manifest pushed under it', async (t) => {
  const first = await pushImage(client, 'man/move', { tag: 'latest' });
  const second = await pushImage(client, 'man/move', { tag: 'latest' });
  await assertServed(t, 'man/move', 'latest', second.manifest, MEDIA.ociManifest);
  await assertServed(t, 'man/move', first.digest, first.manifest, MEDIA.ociManifest);
});

test('unknown manifests are 404 MANIFEST_UNKNOWN (or NAME_UNKNOWN for an unknown repository)', async (t) => {
  await pushImage(client, 'man/known', { tag: 'v1' });
  assertOciError(t, await client.getManifest('man/known', 'v2'), 404, 'MANIFEST_UNKNOWN', 'unknown tag');
  assertOciError(t, await client.getManifest('man/known', sha256('nothing')), 404, 'MANIFEST_UNKNOWN', 'unknown digest');
  const other = await pushImage(client, 'man/elsewhere', { tag: 'v1' });
  assertOciError(t, await client.getManifest('man/known', other.digest), 404, 'MANIFEST_UNKNOWN', 'digest of another repository');
  const res = await client.getManifest('man/never-pushed', 'latest');
  t.is(res.status, 404);
  t.true(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'].includes(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code));
  const head = await client.getManifest('man/known', 'v2', 'HEAD');
  t.is(head.status, 404);
  assertApiVersion(t, head);
});

/** A PUT that must be refused, leaving no manifest and no tag behind. */
async function assertRefused(
  t: ExecutionContext,
  name: string,
  reference: string,
  body: Buffer,
  contentType: string,
  status: number,
  code: string,
  what: string,
  /** The same bytes were pushed before under another reference. */
  alreadyStored = false,
) {
  const error = assertOciError(t, await client.putManifest(name, reference, body, contentType), status, code, what);
  if (!alreadyStored) t.is((await client.getManifest(name, sha256(body), 'HEAD')).status, 404, `${what}: nothing stored`);
  if (!reference.includes(':')) {
    // 404, or 400 for a tag that is not even valid
    t.true([400, 404].includes((await client.getManifest(name, reference, 'HEAD')).status), `${what}: no tag`);
  }
  return error;
}

test('manifest validation: invalid JSON, not an object, wrong schemaVersion, bad descriptors', async (t) => {
  const layer = uniqueBlob(10);
  await client.pushBlob('man/invalid', layer);
  const good = descriptorOf(MEDIA.ociLayer, layer);
  const cases: Array<[string, Buffer]> = [
    ['not JSON', Buffer.from('{"schemaVersion": 2, ')],
    ['an array', Buffer.from('[]')],
    ['a string', Buffer.from('"manifest"')],
    ['no schemaVersion', jsonBytes({ mediaType: MEDIA.ociManifest, config: good, layers: [] })],
    ['schemaVersion 3', jsonBytes({ schemaVersion: 3, mediaType: MEDIA.ociManifest, config: good, layers: [] })],
    ['no config', jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociManifest, layers: [good] })],
    ['layers not an array', jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: good, layers: good })],
    ['bad digest in a descriptor', jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { ...good, digest: 'sha256:xyz' }, layers: [] })],
    ['negative size', jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { ...good, size: -1 }, layers: [] })],
    ['index without manifests', jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociIndex })],
  ];
  for (const [what, body] of cases) {
    const contentType = what.startsWith('index') ? MEDIA.ociIndex : MEDIA.ociManifest;
    await assertRefused(t, 'man/invalid', 'bad', body, contentType, 400, 'MANIFEST_INVALID', what);
  }
});

test('Docker schema 1 is refused with an error that says so', async (t) => {
  const schema1 = jsonBytes({ schemaVersion: 1, name: 'man/schema1', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [] });
  for (const contentType of [MEDIA.dockerSchema1, 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
    const error = await assertRefused(t, 'man/schema1', 'v1', schema1, contentType, 400, 'MANIFEST_INVALID', contentType);
    t.regex(error.message, /schema 1/i, `${contentType}: the message names schema 1`);
  }
});

test('an unknown manifest media type is refused', async (t) => {
  const layer = uniqueBlob(10);
  await client.pushBlob('man/mediatype', layer);
  const body = jsonBytes({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', config: descriptorOf(MEDIA.ociConfig, layer), layers: [] });
  const error = await assertRefused(t, 'man/mediatype', 'x', body, 'application/vnd.example.thing+json', 400, 'MANIFEST_INVALID', 'unknown type');
  t.regex(error.message, /media type/i);
  const mismatch = jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] });
  await assertRefused(t, 'man/mediatype', 'y', mismatch, MEDIA.ociManifest, 400, 'MANIFEST_INVALID', 'mediaType disagrees with Content-Type');
});

test('missing blobs and child manifests are 400 MANIFEST_BLOB_UNKNOWN', async (t) => {
  const layer = uniqueBlob(100);
  const config = Buffer.from('{"os":"linux"}');
  await client.pushBlob('man/missing', config);
  const missingLayer = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(MEDIA.ociConfig, config),
    layers: [descriptorOf(MEDIA.ociLayer, layer)],
  });
  const error = await assertRefused(t, 'man/missing', 'v1', missingLayer, MEDIA.ociManifest, 400, 'MANIFEST_BLOB_UNKNOWN', 'missing layer');
  t.deepEqual((error.detail as { digests?: string[] })?.digests, [sha256(layer)], 'the detail names the missing blob');

  await client.pushBlob('man/other-repo', layer);
  await assertRefused(t, 'man/missing', 'v1', missingLayer, MEDIA.ociManifest, 400, 'MANIFEST_BLOB_UNKNOWN', 'layer only in another repository');

  const image = await pushImage(client, 'man/missing');
  const ghost = { ...image.descriptor, digest: sha256('a manifest nobody pushed') };
  const index = jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [image.descriptor, ghost] });
  await assertRefused(t, 'man/missing', 'multi', index, MEDIA.ociIndex, 400, 'MANIFEST_BLOB_UNKNOWN', 'missing child manifest');

  await client.pushBlob('man/missing', layer);
  assertCreated(t, await client.putManifest('man/missing', 'v1', missingLayer, MEDIA.ociManifest), 'man/missing', missingLayer);
});

test('a digest reference that does not match the body is 400 DIGEST_INVALID', async (t) => {
  const image = await pushImage(client, 'man/digestref');
  const other = Buffer.concat([image.manifest, Buffer.from(' ')]);
  await assertRefused(t, 'man/digestref', image.digest, other, MEDIA.ociManifest, 400, 'DIGEST_INVALID', 'mismatch');
  assertOciError(t, await client.putManifest('man/digestref', 'sha256:1234', image.manifest, MEDIA.ociManifest), 400, 'DIGEST_INVALID', 'malformed');
});

test('a manifest over 4 MiB is 413', async (t) => {
  const image = await pushImage(client, 'man/huge');
  const json = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
  json.annotations = { padding: 'x'.repeat(4 * 1024 * 1024) };
  const body = jsonBytes(json);
  t.true(body.length > 4 * 1024 * 1024);
  await assertRefused(t, 'man/huge', 'huge', body, MEDIA.ociManifest, 413, 'SIZE_INVALID', 'over 4 MiB');
  const chunked = await client.send('/v2/man/huge/manifests/huge2', {
    method: 'PUT',
    headers: { 'content-type': MEDIA.ociManifest },
    body: (await import('node:stream')).Readable.from([body.subarray(0, 3_000_000), body.subarray(3_000_000)]),
  });
  assertOciError(t, chunked, 413, 'SIZE_INVALID', 'over 4 MiB without Content-Length');
});

test('an invalid tag is 400 TAG_INVALID', async (t) => {
  const image = await pushImage(client, 'man/tags');
  for (const tag of ['-leading-dash', '.dot', 'x'.repeat(129), 'sp%20ace']) {
    await assertRefused(t, 'man/tags', tag, image.manifest, MEDIA.ociManifest, 400, 'TAG_INVALID', tag, true);
  }
  t.deepEqual(await client.tags('man/tags'), []);
  assertCreated(t, await client.putManifest('man/tags', 'x'.repeat(128), image.manifest, MEDIA.ociManifest), 'man/tags', image.manifest);
});

test('DELETE by tag removes only the tag; the manifest stays by digest', async (t) => {
  const image = await pushImage(client, 'man/deltag', { tag: 'v1' });
  await client.pushManifest('man/deltag', 'v2', image.manifest, MEDIA.ociManifest);
  const res = await client.send('/v2/man/deltag/manifests/v1', { method: 'DELETE' });
  t.is(res.status, 202);
  assertApiVersion(t, res);
  assertOciError(t, await client.getManifest('man/deltag', 'v1'), 404, 'MANIFEST_UNKNOWN', 'deleted tag');
  await assertServed(t, 'man/deltag', image.digest, image.manifest, MEDIA.ociManifest);
  await assertServed(t, 'man/deltag', 'v2', image.manifest, MEDIA.ociManifest);
  t.deepEqual(await client.tags('man/deltag'), ['v2']);
  assertOciError(t, await client.send('/v2/man/deltag/manifests/v1', { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN', 'twice');
});

test('DELETE by digest removes the manifest and every tag pointing to it', async (t) => {
  const image = await pushImage(client, 'man/deldigest', { tag: 'a' });
  await client.pushManifest('man/deldigest', 'b', image.manifest, MEDIA.ociManifest);
  const keep = await pushImage(client, 'man/deldigest', { tag: 'keep' });
  const res = await client.send(`/v2/man/deldigest/manifests/${image.digest}`, { method: 'DELETE' });
  t.is(res.status, 202);
  assertOciError(t, await client.getManifest('man/deldigest', image.digest), 404, 'MANIFEST_UNKNOWN', 'by digest');
  assertOciError(t, await client.getManifest('man/deldigest', 'a'), 404, 'MANIFEST_UNKNOWN', 'tag a');
  assertOciError(t, await client.getManifest('man/deldigest', 'b'), 404, 'MANIFEST_UNKNOWN', 'tag b');
  t.deepEqual(await client.tags('man/deldigest'), ['keep']);
  await assertServed(t, 'man/deldigest', 'keep', keep.manifest, MEDIA.ociManifest);
  assertOciError(t, await client.send(`/v2/man/deldigest/manifests/${image.digest}`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN', 'twice');
  // The content can be pushed again afterwards.
  assertCreated(t, await client.putManifest('man/deldigest', 'again', image.manifest, MEDIA.ociManifest), 'man/deldigest', image.manifest);
});

test('a manifest pushed by a sha512 reference is served under that digest', async (t) => {
  const image = await pushImage(client, 'man/sha512');
  const digest = `sha512:${createHash('sha512').update(image.manifest).digest('hex')}`;
  const res = await client.putManifest('man/sha512', digest, image.manifest, MEDIA.ociManifest);
  t.is(res.status, 201, res.text);
  t.is(res.header('docker-content-digest'), digest);
  const get = await client.getManifest('man/sha512', digest);
  t.is(get.status, 200);
  t.is(get.header('docker-content-digest'), digest);
  t.true(get.body.equals(image.manifest));
});

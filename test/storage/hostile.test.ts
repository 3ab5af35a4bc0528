// Hostile names and references: traversal (`..`, `%2e%2e`, encoded slashes), upper case, names
// over 255 characters, tags with `/`, digests of wrong lengths or algorithms, upload ids like
// `..%2f..`. Each gets a clear 4xx OCI error, nothing is created inside or outside the root
// directory, and the service goes on serving.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { assertApiVersion } from '../helpers/storage-assert.js';
import { MEDIA, pushImage, type PushedImage } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let client: RegistryClient;
let image: PushedImage;
let session: string;
const marker = `evil${randomBytes(4).toString('hex')}`;

test.before(async () => {
  storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  client = new RegistryClient(storage.url);
  image = await pushImage(client, 'safe/app', { tag: 'v1' });
  session = await client.startUpload('safe/app');
});

test.after.always(async () => {
  await storage?.close();
});

const DEEP = '../'.repeat(12);
const DEEP_ENCODED = '%2e%2e/'.repeat(12);

const HOSTILE_NAMES = [
  `../../${marker}`,
  `${DEEP}${marker}`,
  `safe/${DEEP}${marker}`,
  `..%2f..%2f${marker}`,
  `..%2F..%2F..%2F${marker}`,
  `%2e%2e/%2e%2e/${marker}`,
  `%2e%2e%2f%2e%2e%2f${marker}`,
  `safe/${DEEP_ENCODED}${marker}`,
  `%252e%252e/${marker}`,
  `./${marker}`,
  `${marker}/.`,
  `${marker}/..`,
  `/${marker}`,
  `${marker}//x`,
  `${marker}%2f%2fx`,
  `Upper/${marker}`,
  `${marker.toUpperCase()}`,
  `safe/app/_manifests`,
  `safe/_uploads/${marker}`,
  `_${marker}`,
  `${marker}-`,
  `${marker}%00`,
  `${marker}%00/../x`,
  `${marker}%0a`,
  `${marker}%5c..%5c..`,
  `${marker}%20x`,
  'a'.repeat(256),
  `${'abcdefghij/'.repeat(23)}${marker}`,
];

const BAD_DIGESTS = [
  'sha256:abc',
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `sha256:${'A'.repeat(64)}`,
  `sha512:${'a'.repeat(64)}`,
  `md5:${'a'.repeat(32)}`,
  `constructor:${'a'.repeat(64)}`,
  `sha256:..%2f..%2f${marker}`,
  `sha256:%2e%2e`,
  'sha256:',
  `:${'a'.repeat(64)}`,
  `sha256%3a${'a'.repeat(64)}x`,
];

const BAD_TAGS = ['..', '%2e%2e', '.hidden', `a%2f..%2f..%2f${marker}`, `${marker}%2fx`, 'x'.repeat(129), '-dash', `${marker}%00`, 'a%20b'];

const BAD_UPLOAD_IDS = [
  `..%2f..%2f${marker}`,
  `..%2F${marker}`,
  '%2e%2e',
  '.',
  `${marker}%00`,
  'x'.repeat(65),
  `${marker}.tmp`,
  `a%2fb`,
];

interface Attempt {
  method: string;
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
}

function attempts(): Attempt[] {
  const list: Attempt[] = [];
  const blob = Buffer.from(`payload ${marker}`);
  const json = { 'content-type': MEDIA.ociManifest };
  for (const name of HOSTILE_NAMES) {
    list.push(
      { method: 'POST', path: `/v2/${name}/blobs/uploads/` },
      { method: 'POST', path: `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, body: blob },
      { method: 'POST', path: `/v2/safe/app/blobs/uploads/?mount=${sha256(image.config)}&from=${name}` },
      { method: 'PUT', path: `/v2/${name}/manifests/v1`, body: image.manifest, headers: json },
      { method: 'PUT', path: `/v2/${name}/manifests/${image.digest}`, body: image.manifest, headers: json },
      { method: 'GET', path: `/v2/${name}/manifests/v1` },
      { method: 'DELETE', path: `/v2/${name}/manifests/${image.digest}` },
      { method: 'GET', path: `/v2/${name}/blobs/${sha256(image.config)}` },
      { method: 'DELETE', path: `/v2/${name}/blobs/${sha256(image.config)}` },
      { method: 'GET', path: `/v2/${name}/tags/list` },
      { method: 'GET', path: `/v2/${name}/referrers/${image.digest}` },
      { method: 'PATCH', path: `/v2/${name}/blobs/uploads/${session.split('/').pop()}`, body: blob },
    );
  }
  for (const digest of BAD_DIGESTS) {
    list.push(
      { method: 'GET', path: `/v2/safe/app/blobs/${digest}` },
      { method: 'HEAD', path: `/v2/safe/app/blobs/${digest}` },
      { method: 'DELETE', path: `/v2/safe/app/blobs/${digest}` },
      { method: 'GET', path: `/v2/safe/app/manifests/${digest}` },
      { method: 'PUT', path: `/v2/safe/app/manifests/${digest}`, body: image.manifest, headers: json },
      { method: 'DELETE', path: `/v2/safe/app/manifests/${digest}` },
      { method: 'GET', path: `/v2/safe/app/referrers/${digest}` },
      { method: 'POST', path: `/v2/safe/app/blobs/uploads/?digest=${digest}`, body: blob },
      { method: 'POST', path: `/v2/safe/other/blobs/uploads/?mount=${digest}&from=safe/app` },
    );
  }
  for (const tag of BAD_TAGS) {
    list.push(
      { method: 'PUT', path: `/v2/safe/app/manifests/${tag}`, body: image.manifest, headers: json },
      { method: 'GET', path: `/v2/safe/app/manifests/${tag}` },
      { method: 'DELETE', path: `/v2/safe/app/manifests/${tag}` },
    );
  }
  for (const id of BAD_UPLOAD_IDS) {
    const path = `/v2/safe/app/blobs/uploads/${id}`;
    list.push(
      { method: 'GET', path },
      { method: 'PATCH', path, body: blob },
      { method: 'PATCH', path, body: blob, headers: { 'content-range': `0-${blob.length - 1}` } },
      { method: 'PUT', path: `${path}?digest=${sha256(blob)}`, body: blob },
      { method: 'DELETE', path },
    );
  }
  return list;
}

function markerPlaces(): string[] {
  const places = new Set<string>([tmpdir(), dirname(storage.dir), storage.dir, storage.root, '/', dirname(storage.root)]);
  let dir = storage.root;
  for (let i = 0; i < 16; i++) {
    places.add(dir);
    dir = dirname(dir);
  }
  return [...places].flatMap((place) => [join(place, marker), join(place, marker.toUpperCase()), join(place, `_${marker}`)]);
}

// Serial: the tree is compared before and after, so nothing else may write meanwhile.
test.serial('hostile names, references and upload ids get 4xx OCI errors and write nothing anywhere', async (t) => {
  const before = await listTree(storage.dir);
  const list = attempts();
  t.true(list.length > 300, `${list.length} hostile requests`);
  const failures: string[] = [];
  for (const attempt of list) {
    const res = await client.send(attempt.path, { method: attempt.method, body: attempt.body, headers: attempt.headers });
    const label = `${attempt.method} ${attempt.path.slice(0, 120)} -> ${res.status}`;
    assertApiVersion(t, res);
    if (res.status < 400 || res.status >= 500) {
      failures.push(`${label} ${res.text.slice(0, 200)}`);
      continue;
    }
    if (attempt.method === 'HEAD') continue;
    try {
      const body = res.json<{ errors: Array<{ code: string; message: string }> }>();
      if (typeof body.errors?.[0]?.code !== 'string') failures.push(`${label}: no error code in ${res.text.slice(0, 200)}`);
    } catch {
      failures.push(`${label}: body is not JSON: ${res.text.slice(0, 200)}`);
    }
  }
  t.deepEqual(failures, [], 'every hostile request is a 4xx with an OCI error body');

  const after = await listTree(storage.dir);
  t.deepEqual(after, before, 'nothing was created, moved or removed under the temporary directory');
  t.false(after.some((path) => path.toLowerCase().includes(marker)), 'the marker is nowhere in the tree');
  const escaped = markerPlaces().filter((path) => existsSync(path));
  t.deepEqual(escaped, [], 'nothing was created outside the root directory');
});

test.serial('specific hostile inputs get the specific error codes', async (t) => {
  const code = async (method: string, path: string, body?: Buffer) => {
    const res = await client.send(path, { method, body, headers: body ? { 'content-type': MEDIA.ociManifest } : {} });
    return `${res.status} ${res.status === 405 || method === 'HEAD' ? '' : res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code}`.trim();
  };
  t.is(await code('GET', `/v2/../../${marker}/tags/list`), '400 NAME_INVALID');
  t.is(await code('GET', `/v2/%2e%2e/%2e%2e/${marker}/tags/list`), '400 NAME_INVALID');
  t.is(await code('GET', `/v2/Upper/${marker}/tags/list`), '400 NAME_INVALID');
  t.is(await code('GET', `/v2/${'a'.repeat(256)}/tags/list`), '400 NAME_INVALID');
  t.is(await code('PUT', `/v2/safe/app/manifests/a%2Fb`, image.manifest), '400 TAG_INVALID');
  // A reference that is neither a tag nor a digest names no manifest (OCI conformance, registry:2).
  t.is(await code('GET', `/v2/safe/app/manifests/%2e%2e`), '404 MANIFEST_UNKNOWN');
  t.is(await code('HEAD', `/v2/safe/app/manifests/%2e%2e`), '404');
  t.is(await code('GET', `/v2/safe/app/manifests/-dash`), '404 MANIFEST_UNKNOWN');
  t.is(await code('GET', `/v2/safe/app/manifests/sha256:abc`), '404 MANIFEST_UNKNOWN');
  t.is(await code('HEAD', `/v2/safe/app/manifests/md5:${'a'.repeat(32)}`), '404');
  t.is(await code('PUT', `/v2/safe/app/manifests/-dash`, image.manifest), '400 TAG_INVALID');
  t.is(await code('GET', `/v2/safe/app/blobs/sha256:abc`), '400 DIGEST_INVALID');
  t.is(await code('GET', `/v2/safe/app/blobs/sha512:${'a'.repeat(64)}`), '400 DIGEST_INVALID');
  t.is(await code('GET', `/v2/safe/app/blobs/md5:${'a'.repeat(32)}`), '400 DIGEST_INVALID');
  t.is(await code('GET', `/v2/safe/app/blobs/uploads/..%2f..%2f${marker}`), '404 BLOB_UPLOAD_UNKNOWN');
  t.is(await code('PATCH', `/v2/safe/app/blobs/uploads/x${'y'.repeat(64)}`, Buffer.from('x')), '404 BLOB_UPLOAD_UNKNOWN');
});

test.serial('a name of exactly 255 characters is valid and works', async (t) => {
  const name = `${'abcdefghij/'.repeat(22)}${'x'.repeat(255 - 11 * 22)}`;
  t.is(name.length, 255);
  const pushed = await pushImage(client, name, { tag: 'v1' });
  t.true((await client.getManifest(name, 'v1')).body.equals(pushed.manifest));
  t.deepEqual(await client.tags(name), ['v1']);
});

test.serial('after all that, the service still serves the legitimate image', async (t) => {
  t.is((await client.send('/v2/')).status, 200);
  t.true((await client.getManifest('safe/app', 'v1')).body.equals(image.manifest));
  t.true((await client.getBlob('safe/app', sha256(image.layers[0]!))).body.equals(image.layers[0]!));
  t.is((await client.send(session)).status, 204);
});

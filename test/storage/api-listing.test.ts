// Listings: tags/list and _catalog (sorted, `n`/`last` pagination, Link header) and the
// referrers API (OCI v1.1) with artifactType filtering and OCI-Subject on PUT.
import test, { type ExecutionContext } from 'ava';
import { assertApiVersion, assertOciError } from '../helpers/storage-assert.js';
import {
  artifactManifest,
  descriptorOf,
  EMPTY_CONFIG,
  jsonBytes,
  MEDIA,
  pushImage,
  uniqueBlob,
  type Descriptor,
} from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
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

/** Follows `Link: <…>; rel="next"` from `path` to the end; returns every page's entries. */
async function allPages(t: ExecutionContext, path: string, key: 'tags' | 'repositories'): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | undefined = path;
  while (next) {
    const res = await client.send(next);
    t.is(res.status, 200, `${next}: ${res.text}`);
    assertApiVersion(t, res);
    t.regex(res.header('content-type'), /^application\/json/);
    pages.push(res.json<Record<string, string[]>>()[key] ?? []);
    const link = res.header('link');
    if (!link) break;
    const match = /^<([^>]+)>; rel="next"$/.exec(link);
    t.truthy(match, `Link header form: ${link}`);
    next = match?.[1];
    t.true(pages.length < 20, 'pagination ends');
  }
  return pages;
}

test('tags/list: sorted, with n/last pagination and a Link header', async (t) => {
  const image = await pushImage(client, 'list/tags');
  const tags = ['v10', 'latest', 'v2', 'A-upper', '1.0', 'v1', 'v1.1-rc_1'];
  for (const tag of tags) await client.pushManifest('list/tags', tag, image.manifest, MEDIA.ociManifest);
  const sorted = [...tags].sort();

  const whole = await client.send('/v2/list/tags/tags/list');
  t.is(whole.status, 200);
  t.deepEqual(whole.json(), { name: 'list/tags', tags: sorted });
  t.is(whole.header('link'), '', 'no Link without n');

  const pages = await allPages(t, '/v2/list/tags/tags/list?n=3', 'tags');
  t.deepEqual(pages, [sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6)]);
  const first = await client.send('/v2/list/tags/tags/list?n=3');
  t.is(first.header('link'), `</v2/list/tags/tags/list?last=${encodeURIComponent(sorted[2]!)}&n=3>; rel="next"`);

  const afterV1 = await client.send('/v2/list/tags/tags/list?last=v1');
  t.deepEqual(afterV1.json<{ tags: string[] }>().tags, sorted.filter((tag) => tag > 'v1'));
  const exact = await client.send(`/v2/list/tags/tags/list?n=${tags.length}`);
  t.deepEqual(exact.json<{ tags: string[] }>().tags, sorted);
  t.is(exact.header('link'), '', 'no Link when the page holds the rest');
  const none = await client.send('/v2/list/tags/tags/list?n=0');
  t.is(none.status, 200);
  t.deepEqual(none.json<{ tags: string[] }>().tags, []);
});

test('tags/list of an unknown repository is 404 NAME_UNKNOWN; a bad n is 400', async (t) => {
  assertOciError(t, await client.send('/v2/list/nobody/tags/list'), 404, 'NAME_UNKNOWN');
  await pushImage(client, 'list/parent/child', { tag: 'v1' });
  assertOciError(t, await client.send('/v2/list/parent/tags/list'), 404, 'NAME_UNKNOWN', 'the parent folder of a repository');
  await client.startUpload('list/upload-only');
  assertOciError(t, await client.send('/v2/list/upload-only/tags/list'), 404, 'NAME_UNKNOWN', 'a name with only an upload session');
  await pushImage(client, 'list/badn', { tag: 'x' });
  for (const n of ['-1', 'abc', '1.5']) {
    assertOciError(t, await client.send(`/v2/list/badn/tags/list?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID', `n=${n}`);
  }
});

test('a repository whose last tag was deleted lists no tags', async (t) => {
  await pushImage(client, 'list/untagged', { tag: 'only' });
  t.is((await client.send('/v2/list/untagged/manifests/only', { method: 'DELETE' })).status, 202);
  const res = await client.send('/v2/list/untagged/tags/list');
  t.is(res.status, 200);
  t.deepEqual(res.json<{ tags: string[] | null }>().tags ?? [], []);
});

// Serial (ava runs these first): the catalog is compared whole, so nothing else may push meanwhile.
test.serial('_catalog: every repository (nested names too), in registry:2 order, paginated', async (t) => {
  const names = ['cat/zeta', 'cat/alpha-x', 'cat/alpha', 'cat/alpha/nested', 'cat/b-c/d_e/f.g', 'cat/m'];
  for (const name of names) await pushImage(client, name, { tag: 'v1' });
  // A session alone does not make a repository appear; blobs alone do (as in registry:2).
  await client.startUpload('cat/upload-only');
  await client.pushBlob('cat/blobs-only', uniqueBlob(10));

  const res = await client.send('/v2/_catalog');
  t.is(res.status, 200);
  assertApiVersion(t, res);
  const all = res.json<{ repositories: string[] }>().repositories;
  // Component by component, as registry:2 walks its folders: `alpha/nested` before `alpha-x`.
  const expected = ['cat/alpha', 'cat/alpha/nested', 'cat/alpha-x', 'cat/b-c/d_e/f.g', 'cat/blobs-only', 'cat/m', 'cat/zeta'];
  t.deepEqual(all, expected);

  const pages = await allPages(t, '/v2/_catalog?n=2', 'repositories');
  t.deepEqual(pages, [expected.slice(0, 2), expected.slice(2, 4), expected.slice(4, 6), expected.slice(6)]);
  const first = await client.send('/v2/_catalog?n=2');
  t.is(first.header('link'), `</v2/_catalog?last=${encodeURIComponent('cat/alpha/nested')}&n=2>; rel="next"`);
  for (const [last, rest] of [
    ['cat/alpha', expected.slice(1)],
    ['cat/alpha/nested', expected.slice(2)],
    ['cat/alpha-x', expected.slice(3)],
    ['cat/m', ['cat/zeta']],
    ['cat/zzz', []],
  ] as const) {
    const after = await client.send(`/v2/_catalog?last=${encodeURIComponent(last)}`);
    t.deepEqual(after.json<{ repositories: string[] }>().repositories, rest, `last=${last}`);
  }
  assertOciError(t, await client.send('/v2/_catalog?n=x'), 400, 'PAGINATION_NUMBER_INVALID');
});

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

test('referrers: PUT with a subject answers OCI-Subject; the listing has each referrer descriptor', async (t) => {
  const subject = await pushImage(client, 'ref/app', { tag: 'v1' });
  await client.pushBlob('ref/app', EMPTY_CONFIG);
  const sigLayer = uniqueBlob(50);
  const sbomLayer = uniqueBlob(60);
  await client.pushBlob('ref/app', sigLayer);
  await client.pushBlob('ref/app', sbomLayer);

  const signature = artifactManifest(subject.descriptor, 'application/vnd.example.signature', sigLayer, { 'org.example.signed-by': 'ci' });
  const sbom = artifactManifest(subject.descriptor, 'application/vnd.example.sbom', sbomLayer);
  for (const body of [signature, sbom]) {
    const res = await client.putManifest('ref/app', sha256(body), body, MEDIA.ociManifest);
    t.is(res.status, 201, res.text);
    t.is(res.header('oci-subject'), subject.digest);
  }
  // An image manifest (no artifactType) with a subject: its config media type is its artifact type.
  const config = Buffer.from('{"attestation":true}');
  await client.pushBlob('ref/app', config);
  const attestationType = 'application/vnd.example.attestation.config+json';
  const attestation = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(attestationType, config),
    layers: [],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.manifest.length },
  });
  t.is((await client.putManifest('ref/app', 'attestation', attestation, MEDIA.ociManifest)).header('oci-subject'), subject.digest);

  const res = await client.send(`/v2/ref/app/referrers/${subject.digest}`);
  t.is(res.status, 200);
  assertApiVersion(t, res);
  t.is(res.header('content-type'), MEDIA.ociIndex);
  t.is(res.header('oci-filters-applied'), '');
  const index = res.json<ReferrersIndex>();
  t.is(index.schemaVersion, 2);
  t.is(index.mediaType, MEDIA.ociIndex);
  const expected: Descriptor[] = [
    { ...descriptorOf(MEDIA.ociManifest, signature), artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signed-by': 'ci' } },
    { ...descriptorOf(MEDIA.ociManifest, sbom), artifactType: 'application/vnd.example.sbom' },
    { ...descriptorOf(MEDIA.ociManifest, attestation), artifactType: attestationType },
  ];
  const byDigest = (a: Descriptor, b: Descriptor) => a.digest.localeCompare(b.digest);
  t.deepEqual([...index.manifests].sort(byDigest), expected.sort(byDigest));

  const filtered = await client.send(`/v2/ref/app/referrers/${subject.digest}?artifactType=${encodeURIComponent('application/vnd.example.sbom')}`);
  t.is(filtered.status, 200);
  t.is(filtered.header('oci-filters-applied'), 'artifactType');
  t.deepEqual(filtered.json<ReferrersIndex>().manifests, [expected.find((d) => d.digest === sha256(sbom))]);

  const noMatch = await client.send(`/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.none`);
  t.deepEqual(noMatch.json<ReferrersIndex>().manifests, []);
  t.is(noMatch.header('oci-filters-applied'), 'artifactType');
});

test('referrers: a referrer pushed before its subject, removed when deleted', async (t) => {
  await client.pushBlob('ref/early', EMPTY_CONFIG);
  const layer = uniqueBlob(10);
  await client.pushBlob('ref/early', layer);
  const ghost: Descriptor = { mediaType: MEDIA.ociManifest, digest: sha256('subject pushed later'), size: 20 };
  const body = artifactManifest(ghost, 'application/vnd.example.early', layer);
  const put = await client.putManifest('ref/early', sha256(body), body, MEDIA.ociManifest);
  t.is(put.status, 201, 'a missing subject is allowed');
  t.is(put.header('oci-subject'), ghost.digest);
  const listed = await client.send(`/v2/ref/early/referrers/${ghost.digest}`);
  t.deepEqual(listed.json<ReferrersIndex>().manifests.map((d) => d.digest), [sha256(body)]);

  t.is((await client.send(`/v2/ref/early/manifests/${sha256(body)}`, { method: 'DELETE' })).status, 202);
  const after = await client.send(`/v2/ref/early/referrers/${ghost.digest}`);
  t.is(after.status, 200);
  t.deepEqual(after.json<ReferrersIndex>().manifests, []);
});

test('referrers of an unknown digest (or repository) are an empty index; a bad digest is 400', async (t) => {
  for (const path of [`/v2/ref/none/referrers/${sha256('unknown')}`, `/v2/ref/app2/referrers/${sha256('x')}`]) {
    const res = await client.send(path);
    t.is(res.status, 200, path);
    t.is(res.header('content-type'), MEDIA.ociIndex);
    t.deepEqual(res.json(), { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] });
  }
  assertOciError(t, await client.send('/v2/ref/none/referrers/sha256:short'), 400, 'DIGEST_INVALID');
});

test('referrers are per repository', async (t) => {
  const subject = await pushImage(client, 'ref/one', { tag: 'v1' });
  await client.pushBlob('ref/one', EMPTY_CONFIG);
  const layer = uniqueBlob(10);
  await client.pushBlob('ref/one', layer);
  const body = artifactManifest(subject.descriptor, 'application/vnd.example.one', layer);
  await client.pushManifest('ref/one', sha256(body), body, MEDIA.ociManifest);
  const other = await client.send(`/v2/ref/two/referrers/${subject.digest}`);
  t.deepEqual(other.json<ReferrersIndex>().manifests, []);
  const own = await client.send(`/v2/ref/one/referrers/${subject.digest}`);
  t.is(own.json<ReferrersIndex>().manifests.length, 1);
});

// Drop-in compatibility with registry:2's data directory, both directions, with the real program
// (Debian's docker-registry, CNCF distribution 2.8): what registry:2 wrote, our storage serves
// byte for byte (tags, catalog, manifests, blobs, even an upload it left open); what our storage
// wrote, registry:2 serves the same way, and what it adds on top, we serve again.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciLayout, OciLayoutWriter } from '../helpers/oci-image.js';
import { startDistribution, type Distribution } from '../helpers/storage-distribution.js';
import {
  artifactManifest,
  EMPTY_CONFIG,
  indexOf,
  MEDIA,
  pushImage,
  uniqueBlob,
  type PushedImage,
} from '../helpers/storage-fixtures.js';
import { locationPath, RegistryClient, sha256, withQuery } from '../helpers/storage-http.js';
import { pushLayout, snapshotRepository, type RepositorySnapshot } from '../helpers/storage-image.js';
import { listTree, startStorage } from '../helpers/storage-server.js';

const dirs: string[] = [];
const running: Array<{ stop(): Promise<void> }> = [];

test.after.always(async () => {
  for (const server of running) await server.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'registry2-compat-'));
  dirs.push(dir);
  return dir;
}

async function distribution(root: string, dir: string): Promise<Distribution> {
  const registry = await startDistribution(root, dir);
  running.push(registry);
  return registry;
}

/** Two OCI layouts: a single image with a 2 MiB layer (tag v1), and a two-platform index (multi). */
async function buildLayouts(dir: string): Promise<{ single: string; multi: string }> {
  const single = join(dir, 'layout-single');
  await buildOciLayout(single, 'v1', { files: { 'hello.txt': 'hello from compat\n', 'etc/motd': 'motd\n' }, bigLayerMiB: 2, seed: 'compat' });
  const multi = join(dir, 'layout-multi');
  const layout = new OciLayoutWriter(multi);
  const images = [
    await layout.addImage({ files: { 'hello.txt': 'amd64\n' }, platform: { os: 'linux', architecture: 'amd64' } }),
    await layout.addImage({ files: { 'hello.txt': 'arm64\n' }, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
  ];
  layout.tag(await layout.addIndex(images), 'multi');
  await layout.finish();
  return { single, multi };
}

interface Pushed {
  repositories: string[];
  /** Manifests reachable by digest only (no tag). */
  untagged: Record<string, string[]>;
  /** A manifest deleted by digest: 404 everywhere afterwards. */
  deleted: { name: string; digest: string };
}

/** The same content, pushed the same way, whichever registry `client` talks to. */
async function pushEverything(client: RegistryClient, dir: string): Promise<Pushed> {
  const { single, multi } = await buildLayouts(dir);
  await pushLayout(client, 'compat/app', single);
  await pushLayout(client, 'compat/app', multi);

  const one = await pushImage(client, 'compat/docker', { flavor: 'docker', tag: 'v1', layerSizes: [3000, 70_000] });
  const two: PushedImage = await pushImage(client, 'compat/docker', { flavor: 'docker', platform: { os: 'linux', architecture: 'arm64' } });
  const list = indexOf([one, two], 'docker');
  await client.pushManifest('compat/docker', 'list', list.body, list.mediaType);

  // An artifact (empty config, artifactType) referring to the docker image, pushed by digest.
  await client.pushBlob('compat/docker', EMPTY_CONFIG);
  const signature = Buffer.from('signature bytes');
  await client.pushBlob('compat/docker', signature);
  const artifact = artifactManifest(one.descriptor, 'application/vnd.example.signature', signature);
  const artifactDigest = await client.pushManifest('compat/docker', sha256(artifact), artifact, MEDIA.ociManifest);

  const nested = await pushImage(client, 'compat/team/tools/builder', { tag: 'stable' });
  await client.pushManifest('compat/team/tools/builder', 'also-stable', nested.manifest, MEDIA.ociManifest);
  // registry:2 orders names component by component: team/tools/builder comes before team-x.
  await pushImage(client, 'compat/team-x', { tag: 'v1' });

  const doomed = await pushImage(client, 'compat/deleted', { tag: 'gone' });
  await pushImage(client, 'compat/deleted', { tag: 'kept' });
  const deletion = await client.send(`/v2/compat/deleted/manifests/${doomed.digest}`, { method: 'DELETE' });
  if (deletion.status !== 202) throw new Error(`delete by digest: ${deletion.status} ${deletion.text}`);

  return {
    repositories: ['compat/app', 'compat/deleted', 'compat/docker', 'compat/team/tools/builder', 'compat/team-x'],
    untagged: { 'compat/docker': [two.digest, artifactDigest] },
    deleted: { name: 'compat/deleted', digest: doomed.digest },
  };
}

async function snapshotAll(client: RegistryClient, pushed: Pushed): Promise<Record<string, RepositorySnapshot>> {
  const all: Record<string, RepositorySnapshot> = {};
  for (const name of pushed.repositories) all[name] = await snapshotRepository(client, name, pushed.untagged[name] ?? []);
  return all;
}

function assertPlausible(t: ExecutionContext, snapshot: Record<string, RepositorySnapshot>): void {
  t.deepEqual(Object.keys(snapshot['compat/app']!.tags), ['multi', 'v1']);
  t.deepEqual(Object.keys(snapshot['compat/docker']!.tags), ['list', 'v1']);
  t.deepEqual(Object.keys(snapshot['compat/deleted']!.tags), ['kept']);
  t.is(Object.keys(snapshot['compat/app']!.manifests).length, 4, 'image, index, two platform images');
  t.true(Object.values(snapshot['compat/app']!.blobs).some((size) => size > 2 * 1024 * 1024), 'the big layer is there');
}

/** The catalog in the order the registry gives it (pages of 2, to check `last` as well). */
async function catalog(client: RegistryClient): Promise<string[]> {
  const whole = await client.catalog();
  const paged: string[] = [];
  let next: string | undefined = '/v2/_catalog?n=2';
  while (next) {
    const res = await client.send(next);
    paged.push(...res.json<{ repositories: string[] }>().repositories);
    next = /^<([^>]+)>/.exec(res.header('link'))?.[1];
  }
  if (JSON.stringify(paged) !== JSON.stringify(whole)) throw new Error(`paged catalog ${paged} differs from ${whole}`);
  return whole;
}

test('registry:2 wrote it, our storage serves it: tags, catalog, manifests and blobs byte for byte', async (t) => {
  const dir = await workDir();
  const root = join(dir, 'data');
  const registry = await distribution(root, join(dir, 'registry2'));
  const theirs = new RegistryClient(registry.url);
  const pushed = await pushEverything(theirs, dir);

  // An upload registry:2 started (first chunk received) and never finished.
  const openData = uniqueBlob(300_000);
  const started = await theirs.send('/v2/compat/app/blobs/uploads/', { method: 'POST' });
  t.is(started.status, 202);
  const firstChunk = await theirs.send(locationPath(started.header('location')), {
    method: 'PATCH',
    body: openData.subarray(0, 100_000),
    headers: { 'content-type': 'application/octet-stream', 'content-range': '0-99999' },
  });
  t.is(firstChunk.status, 202, firstChunk.text);
  const openSession = locationPath(firstChunk.header('location'));

  const before = await snapshotAll(theirs, pushed);
  assertPlausible(t, before);
  const catalogBefore = await catalog(theirs);
  await registry.stop();

  const storage = await startStorage({ root, config: { storage: { delete: { enabled: true } } } });
  running.push(storage);
  const ours = new RegistryClient(storage.url);
  t.deepEqual(await snapshotAll(ours, pushed), before, 'every tag, manifest (bytes, type) and blob is the same');
  t.deepEqual(await catalog(ours), catalogBefore, 'the same catalog');
  t.deepEqual(catalogBefore, pushed.repositories);
  t.is((await ours.getManifest(pushed.deleted.name, pushed.deleted.digest)).status, 404, 'what registry:2 deleted stays deleted');

  // The upload registry:2 left open goes on here: status, next chunk, completion.
  const status = await ours.send(openSession);
  t.is(status.status, 204, status.text);
  t.is(status.header('range'), '0-99999');
  const next = await ours.send(openSession, { method: 'PATCH', body: openData.subarray(100_000, 200_000), headers: { 'content-range': '100000-199999' } });
  t.is(next.status, 202, next.text);
  const done = await ours.send(withQuery(locationPath(next.header('location')), 'digest', sha256(openData)), {
    method: 'PUT',
    body: openData.subarray(200_000),
  });
  t.is(done.status, 201, done.text);
  t.true((await ours.getBlob('compat/app', sha256(openData))).body.equals(openData));
  const leftovers = await listTree(join(root, 'docker/registry/v2/repositories/compat/app/_uploads'));
  t.deepEqual(leftovers, [], "registry:2's session folder (hashstates included) is gone after completion");

  // And our storage can keep writing into registry:2's directory.
  const added = await pushImage(ours, 'compat/app', { tag: 'added-by-us' });
  t.true((await ours.getManifest('compat/app', 'added-by-us')).body.equals(added.manifest));
  await storage.stop();
});

test('our storage wrote it, registry:2 serves it; what registry:2 adds, we serve again', async (t) => {
  const dir = await workDir();
  const root = join(dir, 'data');
  const storage = await startStorage({ root, config: { storage: { delete: { enabled: true } } } });
  running.push(storage);
  const ours = new RegistryClient(storage.url);
  const pushed = await pushEverything(ours, dir);

  // Blobs that came in every way an upload can: chunked, monolithic, mounted, never referenced.
  const chunked = uniqueBlob(150_000);
  let path = await ours.startUpload('compat/blobs');
  for (const [from, to] of [[0, 50_000], [50_000, 150_000]] as const) {
    const res = await ours.send(path, { method: 'PATCH', body: chunked.subarray(from, to), headers: { 'content-range': `${from}-${to - 1}` } });
    path = locationPath(res.header('location'));
  }
  t.is((await ours.send(withQuery(path, 'digest', sha256(chunked)), { method: 'PUT' })).status, 201);
  const mono = uniqueBlob(20_000);
  await ours.pushBlob('compat/blobs', mono);
  const mounted = await ours.send(`/v2/compat/mounted/blobs/uploads/?mount=${sha256(mono)}&from=compat/blobs`, { method: 'POST' });
  t.is(mounted.status, 201);
  // A tag deleted by tag (registry:2 itself cannot, but must read the result).
  await ours.pushManifest('compat/app', 'temporary', (await ours.getManifest('compat/app', 'v1')).body, MEDIA.ociManifest);
  t.is((await ours.send('/v2/compat/app/manifests/temporary', { method: 'DELETE' })).status, 202);
  // An upload left open in our storage must not disturb registry:2.
  await ours.send(await ours.startUpload('compat/app'), { method: 'PATCH', body: uniqueBlob(1000) });

  const before = await snapshotAll(ours, pushed);
  assertPlausible(t, before);
  const catalogBefore = await catalog(ours);
  const referrers = await ours.send(`/v2/compat/docker/referrers/${before['compat/docker']!.tags.v1}`);
  t.is(referrers.json<{ manifests: unknown[] }>().manifests.length, 1, 'our referrers index has the artifact');
  await storage.stop();

  const registry = await distribution(root, join(dir, 'registry2'));
  const theirs = new RegistryClient(registry.url);
  try {
    t.deepEqual(await snapshotAll(theirs, pushed), before, 'registry:2 serves every tag, manifest and blob the same');
    t.deepEqual(await catalog(theirs), catalogBefore, 'registry:2 lists the same catalog');
    t.true(catalogBefore.includes('compat/blobs'), 'a repository with blobs only is in both catalogs');
    t.is((await theirs.getManifest(pushed.deleted.name, pushed.deleted.digest)).status, 404);
    t.is((await theirs.getManifest('compat/app', 'temporary')).status, 404);
    for (const [name, data] of [['compat/blobs', chunked], ['compat/blobs', mono], ['compat/mounted', mono]] as const) {
      const res = await theirs.getBlob(name, sha256(data));
      t.is(res.status, 200, `${name} ${sha256(data)}`);
      t.true(res.body.equals(data), `registry:2 reads ${name}'s blob whole`);
    }
    const range = await theirs.getBlob('compat/blobs', sha256(chunked), { range: 'bytes=1000-1999' });
    t.is(range.status, 206);
    t.true(range.body.equals(chunked.subarray(1000, 2000)));

    // registry:2 adds a tag and a new image to our directory...
    await theirs.pushManifest('compat/app', 'retagged', (await theirs.getManifest('compat/app', 'multi')).body, MEDIA.ociIndex);
    const fromThem = await pushImage(theirs, 'compat/from-registry2', { tag: 'v1', flavor: 'docker' });
    const afterTheirs = await snapshotAll(theirs, { ...pushed, repositories: [...pushed.repositories, 'compat/from-registry2'] });
    await registry.stop();

    // ...and our storage serves all of it again.
    const again = await startStorage({ root, config: { storage: { delete: { enabled: true } } } });
    running.push(again);
    const oursAgain = new RegistryClient(again.url);
    t.deepEqual(await snapshotAll(oursAgain, { ...pushed, repositories: [...pushed.repositories, 'compat/from-registry2'] }), afterTheirs);
    t.true((await oursAgain.getManifest('compat/from-registry2', 'v1')).body.equals(fromThem.manifest));
    t.deepEqual(Object.keys(afterTheirs['compat/app']!.tags), ['multi', 'retagged', 'v1']);
    await again.stop();
  } catch (err) {
    t.log((await registry.log()).slice(-3000));
    throw err;
  }
});

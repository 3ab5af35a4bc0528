// The safety rules of garbage collection (issue 10), each with real data: a schema 1 image that
// registry:2 itself wrote survives `registry gc`; a signature pushed with a `subject` survives
// --delete-untagged while its subject is tagged; a manifest that cannot be parsed stops the run
// with nothing deleted; on a running registry `registry gc` asks storage to collect online.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { buildOciLayout } from '../helpers/oci-image.js';
import { startDistribution } from '../helpers/storage-distribution.js';
import { artifactManifest, descriptorOf, EMPTY_CONFIG, MEDIA, pushImage, uniqueBlob } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { listTree, startStorage } from '../helpers/storage-server.js';
import { runOk } from '../e2e/helpers/run.js';
import { runCli } from './run-cli.js';

const dirs: string[] = [];
test.after.always(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gc-safety-'));
  dirs.push(dir);
  return dir;
}

const envFor = (root: string) => ({ REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: root });
const blobPath = (root: string, digest: string) => {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
};

test.serial('a schema 1 image written by registry:2 survives registry gc (with and without --delete-untagged)', async (t) => {
  const dir = await workDir();
  const root = join(dir, 'data');
  const layout = join(dir, 'layout');
  await buildOciLayout(layout, 'v1', { files: { 'hello.txt': 'schema 1 survives\n' }, seed: 'schema1' });
  const registry2 = await startDistribution(root, join(dir, 'registry2'), { schema1: true });
  try {
    const host = new URL(registry2.url).host;
    // skopeo converts to docker schema 1 (signed with a key of its own) and registry:2 stores it.
    await runOk('skopeo', ['copy', '--format', 'v2s1', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/old/app:v1`], { timeoutMs: 120_000 });
    // An orphan blob next to it, so the collection has something to delete.
    await new RegistryClient(registry2.url).pushBlob('old/app', uniqueBlob(2048));
  } finally {
    await registry2.stop();
  }

  for (const flags of [['--delete-untagged'], []]) {
    const result = await runCli(['gc', ...flags], { env: envFor(root) });
    t.is(result.code, 0, result.stderr);
    t.notRegex(result.stdout, /deleted manifest/, 'the schema 1 manifest is tagged: kept');
  }

  const storage = await startStorage({ root });
  t.teardown(() => storage.close());
  const client = new RegistryClient(storage.url);
  const manifest = await client.send('/v2/old/app/manifests/v1', { headers: { accept: MEDIA.dockerSchema1 } });
  t.is(manifest.status, 200);
  const json = manifest.json<{ schemaVersion: number; fsLayers: Array<{ blobSum: string }> }>();
  t.is(json.schemaVersion, 1);
  t.true(json.fsLayers.length > 0);
  for (const { blobSum } of json.fsLayers) {
    const blob = await client.getBlob('old/app', blobSum);
    t.is(blob.status, 200, `layer ${blobSum} survived`);
    t.is(sha256(blob.body), blobSum, 'and is intact');
  }
});

test.serial('a signature with a subject survives --delete-untagged while its subject is tagged, and goes with it', async (t) => {
  const storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  t.teardown(() => storage.close());
  const client = new RegistryClient(storage.url);
  const image = await pushImage(client, 'signed/app', { tag: 'v1', layerSizes: [3000] });
  await client.pushBlob('signed/app', EMPTY_CONFIG);
  const signatureLayer = uniqueBlob(300);
  await client.pushBlob('signed/app', signatureLayer);
  const signature = artifactManifest(descriptorOf(image.mediaType, image.manifest), 'application/vnd.dev.cosign.artifact.sig.v1+json', signatureLayer);
  const signatureDigest = await client.pushManifest('signed/app', sha256(signature), signature, MEDIA.ociManifest);
  // A signature of the signature (a chain of subjects) stays as well.
  const counterLayer = uniqueBlob(200);
  await client.pushBlob('signed/app', counterLayer);
  const counter = artifactManifest(descriptorOf(MEDIA.ociManifest, signature), 'application/example.counter-signature', counterLayer);
  const counterDigest = await client.pushManifest('signed/app', sha256(counter), counter, MEDIA.ociManifest);
  const untagged = await pushImage(client, 'signed/app', { layerSizes: [1000] });
  await storage.stop();

  const first = await runCli(['gc', '--delete-untagged'], { env: envFor(storage.root) });
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, new RegExp(`deleted manifest signed/app@${untagged.digest}`));
  t.notRegex(first.stdout, new RegExp(signatureDigest), 'the signature of a tagged image stays');
  t.notRegex(first.stdout, new RegExp(counterDigest), 'and what signs the signature');
  t.notRegex(first.stdout, new RegExp(sha256(signatureLayer)));

  await storage.restart();
  client.baseUrl = storage.url;
  const referrers = await client.send(`/v2/signed/app/referrers/${image.digest}`);
  t.deepEqual(
    referrers.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest),
    [signatureDigest],
  );
  t.is((await client.getBlob('signed/app', sha256(signatureLayer))).status, 200);
  // Untag the image: now the image, its signature and the counter-signature all go.
  t.is((await client.send('/v2/signed/app/manifests/v1', { method: 'DELETE' })).status, 202);
  await storage.stop();
  const second = await runCli(['gc', '--delete-untagged'], { env: envFor(storage.root) });
  t.is(second.code, 0, second.stderr);
  for (const digest of [image.digest, signatureDigest, counterDigest]) t.regex(second.stdout, new RegExp(`deleted manifest signed/app@${digest}`));
  t.regex(second.stdout, new RegExp(`deleted blob ${sha256(signatureLayer)}`));
  t.regex(second.stdout, /removed empty repository signed\/app/);
  await storage.restart();
  client.baseUrl = storage.url;
  t.false((await client.catalog()).includes('signed/app'), 'a repository with nothing left leaves the catalog');
});

test.serial('a manifest that cannot be parsed stops the collection, and nothing is deleted', async (t) => {
  const storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  t.teardown(() => storage.close());
  const client = new RegistryClient(storage.url);
  await pushImage(client, 'good/app', { tag: 'v1' });
  await pushImage(client, 'good/app', { layerSizes: [500] }); // untagged: --delete-untagged would take it
  const orphan = await client.pushBlob('good/app', uniqueBlob(1500));
  await storage.stop();
  // A revision whose bytes are not a manifest (a disk error, another program's bug).
  const garbage = Buffer.from('{"schemaVersion": 2, "layers": [truncated');
  const digest = `sha256:${createHash('sha256').update(garbage).digest('hex')}`;
  await mkdir(dirname(blobPath(storage.root, digest)), { recursive: true });
  await writeFile(blobPath(storage.root, digest), garbage);
  const revision = join(storage.root, 'docker/registry/v2/repositories/bad/app/_manifests/revisions/sha256', digest.slice(7), 'link');
  await mkdir(dirname(revision), { recursive: true });
  await writeFile(revision, digest);
  const before = await listTree(storage.root);

  for (const flags of [[], ['--delete-untagged']]) {
    const result = await runCli(['gc', ...flags], { env: envFor(storage.root) });
    t.is(result.code, 1);
    t.regex(result.stderr, /nothing was deleted/);
    t.true(result.stderr.includes(`bad/app@${digest}`), 'the report names the manifest');
    t.deepEqual(await listTree(storage.root), before, 'not one file deleted');
  }
  t.true(before.some((entry) => entry.includes(orphan.slice(7))));
});

test.serial('registry gc on a running registry asks storage to collect, online', async (t) => {
  const storage = await startStorage({ config: { storage: { delete: { enabled: true }, maintenance: { gc: { gracePeriodMs: 0 } } } } });
  t.teardown(() => storage.close());
  const client = new RegistryClient(storage.url);
  const kept = await pushImage(client, 'live/app', { tag: 'v1', layerSizes: [700] });
  const orphan = await client.pushBlob('live/app', uniqueBlob(900));

  const dry = await runCli(['gc', '--dry-run'], { env: envFor(storage.root) });
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /by the running registry/);
  t.regex(dry.stdout, new RegExp(`would delete blob ${orphan}`));
  t.is((await client.getBlob('live/app', orphan, {}, 'HEAD')).status, 200, 'a dry run deletes nothing');

  const real = await runCli(['gc'], { env: envFor(storage.root) });
  t.is(real.code, 0, real.stderr);
  t.regex(real.stdout, new RegExp(`deleted blob ${orphan}`));
  t.regex(real.stdout, /by the running registry; mark \d+ ms, sweep \d+ ms/);
  t.is((await client.getBlob('live/app', orphan, {}, 'HEAD')).status, 404);
  for (const blob of [kept.config, ...kept.layers]) t.is((await client.getBlob('live/app', sha256(blob))).status, 200);

  // The repository delete command goes through the same socket.
  const deleted = await runCli(['repo', 'delete', 'live/app'], { env: envFor(storage.root) });
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, /deleted repository live\/app: 1 manifests, 1 tags/);
  t.deepEqual(await client.catalog(), []);
  t.is((await client.getManifest('live/app', 'v1')).status, 404);
});

test.serial('the control socket is private to the data directory owner', async (t) => {
  const storage = await startStorage();
  t.teardown(() => storage.close());
  const { stat } = await import('node:fs/promises');
  const info = await stat(join(storage.root, '_control'));
  t.is(info.mode & 0o777, 0o700);
  t.true((await stat(join(storage.root, '_control', 'storage.sock'))).isSocket());
  // Garbage on the socket gets a 400, not a crash or a collection.
  const { request } = await import('node:http');
  const ask = (method: string, path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: join(storage.root, '_control', 'storage.sock'), method, path }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
  t.is(await ask('POST', '/gc', '{"dryRun": tru'), 400);
  t.is(await ask('POST', '/gc', 'x'.repeat(100_000)), 400);
  t.is(await ask('DELETE', '/repositories/%E0%A4%A'), 400);
  t.is(await ask('DELETE', '/repositories/..%2F..%2Fetc'), 400);
  t.is(await ask('GET', '/anything'), 404);
  t.is((await new RegistryClient(storage.url).send('/v2/')).status, 200, 'storage still answers');
});

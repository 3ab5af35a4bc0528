// A real client straight against the storage service: skopeo copies OCI layouts in (as they are,
// a multi-platform index with --all, and converted to Docker schema 2), copies them back out, and
// every digest and byte must match; list-tags, inspect --raw and delete work too.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciLayout, imageFilesFromLayout, OciLayoutWriter, readOciLayout, type BuiltImage } from '../helpers/oci-image.js';
import { runOk } from '../e2e/helpers/run.js';
import { MEDIA } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { snapshotRepository } from '../helpers/storage-image.js';
import { startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let client: RegistryClient;
let dir: string;
let authFile: string;
let single: { dir: string; image: BuiltImage };
let multi: { dir: string; index: string; images: BuiltImage[] };

test.before(async () => {
  storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  client = new RegistryClient(storage.url);
  dir = await mkdtemp(join(tmpdir(), 'storage-skopeo-'));
  authFile = join(dir, 'auth.json');
  await writeFile(authFile, '{}');
  const singleDir = join(dir, 'single');
  single = {
    dir: singleDir,
    image: await buildOciLayout(singleDir, 'v1', { files: { 'hello.txt': 'hello from skopeo\n' }, bigLayerMiB: 3, seed: 'skopeo' }),
  };
  const multiDir = join(dir, 'multi');
  const layout = new OciLayoutWriter(multiDir);
  const images = [
    await layout.addImage({ files: { 'hello.txt': 'amd64\n' }, platform: { os: 'linux', architecture: 'amd64' } }),
    await layout.addImage({ files: { 'hello.txt': 'arm64\n' }, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
  ];
  const index = await layout.addIndex(images);
  layout.tag(index, 'multi');
  await layout.finish();
  multi = { dir: multiDir, index: index.digest, images };
});

test.after.always(async () => {
  await storage?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const host = () => new URL(storage.url).host;

function skopeo(...args: string[]): Promise<string> {
  const [command, ...rest] = args;
  return runOk('skopeo', [command!, '--authfile', authFile, ...rest], { timeoutMs: 120_000 });
}

test.serial('skopeo copy pushes an OCI image unchanged and pulls it back byte for byte', async (t) => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${single.dir}:v1`, `docker://${host()}/skopeo/app:v1`);
  const pushed = await client.getManifest('skopeo/app', 'v1');
  t.is(pushed.status, 200);
  t.is(pushed.header('docker-content-digest'), single.image.manifest.digest, 'the manifest digest is unchanged');
  t.is(pushed.header('content-type'), MEDIA.ociManifest);
  const snapshot = await snapshotRepository(client, 'skopeo/app');
  t.deepEqual(Object.keys(snapshot.blobs).sort(), [single.image.config.digest, ...single.image.layers.map((l) => l.digest)].sort());

  const out = join(dir, 'pulled-single');
  await skopeo('copy', '--src-tls-verify=false', `docker://${host()}/skopeo/app:v1`, `oci:${out}:v1`);
  const original = await readOciLayout(single.dir);
  const pulled = await readOciLayout(out);
  t.is((await pulled.ref('v1')).digest, single.image.manifest.digest);
  for (const digest of await original.blobDigests()) {
    t.true((await pulled.blob(digest)).equals(await original.blob(digest)), `blob ${digest}`);
  }
  const files = await imageFilesFromLayout(pulled, single.image.manifest.digest);
  t.is(files.get('hello.txt')?.toString(), 'hello from skopeo\n');
  t.is(files.get('big.bin')?.length, 3 * 1024 * 1024);

  const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host()}/skopeo/app:v1`);
  t.true(Buffer.from(raw).equals(pushed.body), 'inspect --raw returns the stored bytes');
});

test.serial('skopeo copy --all pushes and pulls a multi-platform index', async (t) => {
  await skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${multi.dir}:multi`, `docker://${host()}/skopeo/multi:multi`);
  const index = await client.getManifest('skopeo/multi', 'multi');
  t.is(index.header('docker-content-digest'), multi.index);
  t.is(index.header('content-type'), MEDIA.ociIndex);
  for (const image of multi.images) {
    t.is((await client.getManifest('skopeo/multi', image.manifest.digest)).status, 200, `child ${image.manifest.platform?.architecture}`);
  }
  const out = join(dir, 'pulled-multi');
  await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${host()}/skopeo/multi:multi`, `oci:${out}:multi`);
  const pulled = await readOciLayout(out);
  t.is((await pulled.ref('multi')).digest, multi.index);
  const original = await readOciLayout(multi.dir);
  t.deepEqual(await pulled.blobDigests(), await original.blobDigests(), 'every blob and manifest came back');
});

test.serial('skopeo copy --format v2s2 stores a Docker schema 2 image that pulls back with the same files', async (t) => {
  await skopeo('copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${single.dir}:v1`, `docker://${host()}/skopeo/docker:v1`);
  const manifest = await client.getManifest('skopeo/docker', 'v1');
  t.is(manifest.header('content-type'), MEDIA.dockerManifest);
  t.is(manifest.header('docker-content-digest'), sha256(manifest.body));
  const out = join(dir, 'pulled-docker');
  await skopeo('copy', '--src-tls-verify=false', `docker://${host()}/skopeo/docker:v1`, `oci:${out}:v1`);
  const pulled = await readOciLayout(out);
  const files = await imageFilesFromLayout(pulled, (await pulled.ref('v1')).digest);
  t.is(files.get('hello.txt')?.toString(), 'hello from skopeo\n');
});

test.serial('skopeo list-tags and delete', async (t) => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${single.dir}:v1`, `docker://${host()}/skopeo/app:v2`);
  const listed = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${host()}/skopeo/app`)) as { Tags: string[] };
  t.deepEqual(listed.Tags.sort(), ['v1', 'v2']);
  await skopeo('delete', '--tls-verify=false', `docker://${host()}/skopeo/app:v2`);
  // skopeo deletes by digest: both tags pointed to the same manifest, so both are gone.
  t.is((await client.getManifest('skopeo/app', single.image.manifest.digest)).status, 404);
  t.deepEqual(await client.tags('skopeo/app'), []);
});

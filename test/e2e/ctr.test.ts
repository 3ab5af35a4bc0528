// containerd's ctr against the registry, directly and through nginx: it has no login, so
// credentials go with each call (--user); push of an imported OCI archive, refusals without
// credentials, and a pull into an emptied content store, compared digest for digest and file
// for file.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startContainerd, type Containerd } from './helpers/containerd.js';
import { buildOciLayout, layerFiles, ociArchive, sha256, type BuiltImage } from '../helpers/oci-image.js';
import { registryApi } from './helpers/registry-api.js';
import { describeFailure } from './helpers/run.js';
import { useE2eWorld, type Endpoint } from './helpers/world.js';

let containerd: Containerd;
let image: BuiltImage;
const LOCAL = 'localhost/e2e/ctr-import';

const world = useE2eWorld('ctr', async (w) => {
  containerd = await startContainerd(join(w.dir, 'containerd'));
  w.onStop(() => containerd.stop());
  const layoutDir = join(w.dir, 'oci');
  image = await buildOciLayout(layoutDir, 'v1', { files: { 'hello.txt': 'hello from ctr\n', 'etc/motd': 'e2e ctr\n' } });
  const archive = join(w.dir, 'oci.tar');
  await writeFile(archive, await ociArchive(layoutDir));
  await containerd.ctr(['images', 'import', '--base-name', LOCAL, archive]);
});

function credentials(): string {
  return `${world().registry.user}:${world().registry.password}`;
}

/** The manifest digest `ctr images ls` shows for a reference. */
async function localDigest(ref: string): Promise<string | undefined> {
  const listing = await containerd.ctr(['images', 'ls']);
  const row = listing.split('\n').find((line) => line.startsWith(`${ref} `));
  return row ? /sha256:[a-f0-9]{64}/.exec(row)?.[0] : undefined;
}

async function contentDigests(): Promise<string[]> {
  return [...(await containerd.ctr(['content', 'ls', '-q'])).matchAll(/sha256:[a-f0-9]{64}/g)].map((m) => m[0]);
}

for (const label of ['direct', 'nginx'] as const) {
  const endpoint = (): Endpoint => world().endpoint(label);
  const repo = `e2e/ctr-${label}`;

  test.serial(`ctr push and pull without credentials get 401 (${label})`, async (t) => {
    const ref = `${endpoint().host}/${repo}:anonymous`;
    await containerd.ctr(['images', 'tag', '--force', `${LOCAL}:v1`, ref]);
    t.regex(await containerd.ctrFails(['images', 'push', '--plain-http', ref]), /401 Unauthorized/);
    t.regex(await containerd.ctrFails(['images', 'pull', '--plain-http', ref]), /401 Unauthorized/);
    await containerd.ctr(['images', 'rm', ref]);
  });

  test.serial(`ctr push and pull with --user: same digests and files (${label})`, async (t) => {
    const ref = `${endpoint().host}/${repo}:v1`;
    await containerd.ctr(['images', 'tag', '--force', `${LOCAL}:v1`, ref]);
    await containerd.ctr(['images', 'push', '--plain-http', '--user', credentials(), ref]);
    t.is(await registryApi(endpoint(), world().registry).manifestDigest(repo, 'v1'), image.manifest.digest);

    // Forget every image and let containerd's garbage collector drop the content: the pull must download.
    const names = (await containerd.ctr(['images', 'ls', '-q'])).split('\n').filter(Boolean);
    await containerd.ctr(['images', 'rm', '--sync', ...names]);
    const layer = image.layers[0]!.digest;
    t.false((await contentDigests()).includes(layer), 'the layer left the content store');

    await containerd.ctr(['images', 'pull', '--plain-http', '--user', credentials(), ref]);
    t.is(await localDigest(ref), image.manifest.digest);
    const content = await contentDigests();
    for (const digest of [image.manifest.digest, image.config.digest, layer]) t.true(content.includes(digest), digest);

    const blob = await containerd.ctrRaw(['content', 'get', layer]);
    if (blob.code !== 0) throw new Error(describeFailure(blob));
    t.is(sha256(blob.stdout), layer);
    const files = layerFiles(blob.stdout);
    for (const [path, expected] of image.files) t.deepEqual(files.get(path), expected, path);

    // Keep the source image for the next endpoint.
    await containerd.ctr(['images', 'tag', '--force', ref, `${LOCAL}:v1`]);
  });
}

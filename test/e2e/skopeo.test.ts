// skopeo against the registry, directly and through nginx: login, push (copy from an OCI
// layout), pull back and compare every digest and the files, tags, delete, refusals without
// credentials, and a multi-platform image index that must round-trip digest for digest.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildOciLayout,
  imageFilesFromLayout,
  OciLayoutWriter,
  readOciLayout,
  type BuiltImage,
  type Descriptor,
  type ImageManifest,
} from '../helpers/oci-image.js';
import { registryApi } from './helpers/registry-api.js';
import { runFails, runOk } from './helpers/run.js';
import { useE2eWorld, type Endpoint } from './helpers/world.js';

let authFile: string;
let emptyAuthFile: string;
let single: { dir: string; image: BuiltImage };
let multi: { dir: string; index: Descriptor; images: BuiltImage[] };

const TIMEOUT = { timeoutMs: 120_000 };

const world = useE2eWorld('skopeo', async (w) => {
  authFile = join(w.dir, 'skopeo-auth.json');
  emptyAuthFile = join(w.dir, 'empty-auth.json');
  await writeFile(emptyAuthFile, '{}');

  const singleDir = join(w.dir, 'oci-single');
  single = {
    dir: singleDir,
    image: await buildOciLayout(singleDir, 'v1', { files: { 'hello.txt': 'hello from skopeo\n', 'etc/motd': 'e2e\n' } }),
  };

  const multiDir = join(w.dir, 'oci-multi');
  const layout = new OciLayoutWriter(multiDir);
  const images = [
    await layout.addImage({ files: { 'hello.txt': 'amd64 says hello\n' }, platform: { os: 'linux', architecture: 'amd64' } }),
    await layout.addImage({
      files: { 'hello.txt': 'arm64 says hello\n' },
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    }),
  ];
  const index = await layout.addIndex(images);
  layout.tag(index, 'v1');
  await layout.finish();
  multi = { dir: multiDir, index, images };
});

function skopeo(args: string[], authfile = authFile): Promise<string> {
  return runOk('skopeo', [...args.slice(0, 1), '--authfile', authfile, ...args.slice(1)], TIMEOUT);
}

function skopeoFails(args: string[], authfile = authFile): Promise<string> {
  return runFails('skopeo', [...args.slice(0, 1), '--authfile', authfile, ...args.slice(1)], TIMEOUT);
}

for (const label of ['direct', 'nginx'] as const) {
  const endpoint = (): Endpoint => world().endpoint(label);
  const repo = `e2e/skopeo-${label}`;

  test.serial(`skopeo login refuses a wrong password (${label})`, async (t) => {
    const output = await runFails(
      'skopeo',
      ['login', '--authfile', authFile, '--tls-verify=false', '-u', world().registry.user, '--password-stdin', endpoint().host],
      { ...TIMEOUT, input: 'not-the-password' },
    );
    t.regex(output, /invalid username\/password|unauthorized/i);
  });

  test.serial(`skopeo login, push, pull back: same digests and files (${label})`, async (t) => {
    const { host } = endpoint();
    await runOk('skopeo', ['login', '--authfile', authFile, '--tls-verify=false', '-u', world().registry.user, '--password-stdin', host], {
      ...TIMEOUT,
      input: world().registry.password,
    });
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${single.dir}:v1`, `docker://${host}/${repo}:v1`]);

    const api = registryApi(endpoint(), world().registry);
    t.is(await api.manifestDigest(repo, 'v1'), single.image.manifest.digest, 'the registry serves the manifest that was pushed');

    const pulledDir = join(world().dir, `pulled-${label}`);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/${repo}:v1`, `oci:${pulledDir}:v1`]);
    const pulled = await readOciLayout(pulledDir);
    const ref = await pulled.ref('v1');
    t.is(ref.digest, single.image.manifest.digest);
    const manifest = await pulled.blobJson<ImageManifest>(ref.digest);
    t.is(manifest.config.digest, single.image.config.digest);
    t.deepEqual(
      manifest.layers.map((l) => l.digest),
      single.image.layers.map((l) => l.digest),
    );
    await pulled.blob(manifest.config.digest); // present and matching its digest
    const files = await imageFilesFromLayout(pulled, ref.digest);
    t.is(files.get('hello.txt')?.toString(), 'hello from skopeo\n');
    t.is(files.get('etc/motd')?.toString(), 'e2e\n');

    const tags = JSON.parse(await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/${repo}`])) as { Tags: string[] };
    t.deepEqual(tags.Tags, ['v1']);
  });

  test.serial(`skopeo without credentials is refused (${label})`, async (t) => {
    const { host } = endpoint();
    const pull = await skopeoFails(['inspect', '--tls-verify=false', `docker://${host}/${repo}:v1`], emptyAuthFile);
    t.regex(pull, /unauthorized|authentication required/i);
    const push = await skopeoFails(['copy', '--dest-tls-verify=false', `oci:${single.dir}:v1`, `docker://${host}/${repo}:anon`], emptyAuthFile);
    t.regex(push, /unauthorized|authentication required/i);
  });

  test.serial(`a Kubernetes pull secret's .dockerconfigjson authenticates a pull (${label})`, async (t) => {
    // Exactly what `kubectl create secret docker-registry --docker-server=… --docker-username=…
    // --docker-password=…` stores, which kubelet hands to the container runtime.
    const { host } = endpoint();
    const { user, password } = world().registry;
    const secret = (pass: string) =>
      JSON.stringify({ auths: { [host]: { username: user, password: pass, auth: Buffer.from(`${user}:${pass}`).toString('base64') } } });
    const good = join(world().dir, `k8s-secret-${label}.json`);
    const wrong = join(world().dir, `k8s-secret-wrong-${label}.json`);
    await writeFile(good, secret(password));
    await writeFile(wrong, secret(`${password}-wrong`));
    const pulledDir = join(world().dir, `pulled-k8s-${label}`);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/${repo}:v1`, `oci:${pulledDir}:v1`], good);
    t.is((await (await readOciLayout(pulledDir)).ref('v1')).digest, single.image.manifest.digest);
    const refused = await skopeoFails(['inspect', '--tls-verify=false', `docker://${host}/${repo}:v1`], wrong);
    t.regex(refused, /unauthorized|authentication required|invalid username/i);
  });

  test.serial(`skopeo copy --all round-trips a multi-platform index (${label})`, async (t) => {
    const { host } = endpoint();
    const multiRepo = `e2e/multi-${label}`;
    await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${multi.dir}:v1`, `docker://${host}/${multiRepo}:v1`]);

    const api = registryApi(endpoint(), world().registry);
    const served = await api.manifest(multiRepo, 'v1');
    t.is(served.digest, multi.index.digest);
    t.is(served.mediaType, 'application/vnd.oci.image.index.v1+json');

    const pulledDir = join(world().dir, `pulled-multi-${label}`);
    await mkdir(pulledDir, { recursive: true });
    await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/${multiRepo}:v1`, `oci:${pulledDir}:v1`]);
    const pulled = await readOciLayout(pulledDir);
    const ref = await pulled.ref('v1');
    t.is(ref.digest, multi.index.digest, 'index digest');
    const index = await pulled.blobJson<{ manifests: Descriptor[] }>(ref.digest);
    t.deepEqual(
      index.manifests.map((m) => [m.digest, m.platform?.architecture]),
      multi.images.map((image) => [image.manifest.digest, image.manifest.platform?.architecture]),
    );
    for (const image of multi.images) {
      const manifest = await pulled.blobJson<ImageManifest>(image.manifest.digest);
      t.is(manifest.config.digest, image.config.digest);
      t.deepEqual(
        manifest.layers.map((l) => l.digest),
        image.layers.map((l) => l.digest),
      );
      await pulled.blob(image.config.digest);
      const files = await imageFilesFromLayout(pulled, image.manifest.digest);
      t.deepEqual(files.get('hello.txt'), image.files.get('hello.txt'));
      // Each platform manifest is also served on its own, by digest.
      t.is(await api.manifestDigest(multiRepo, image.manifest.digest), image.manifest.digest);
    }
  });

  test.serial(`skopeo delete removes the manifest by digest (${label})`, async (t) => {
    const { host } = endpoint();
    const api = registryApi(endpoint(), world().registry);
    const doomedRepo = `e2e/skopeo-delete-${label}`;
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${single.dir}:v1`, `docker://${host}/${doomedRepo}:doomed`]);
    t.is(await api.manifestDigest(doomedRepo, 'doomed'), single.image.manifest.digest);
    await skopeo(['delete', '--tls-verify=false', `docker://${host}/${doomedRepo}:doomed`]);
    t.is(await api.manifestDigest(doomedRepo, single.image.manifest.digest), undefined, 'the manifest is gone');
    t.is(await api.manifestDigest(doomedRepo, 'doomed'), undefined, 'the tag is gone');
    // The same image in another repository is untouched.
    t.is(await api.manifestDigest(repo, 'v1'), single.image.manifest.digest);
  });
}

// `registry gc` on a data directory with kept, untagged and orphaned content: it deletes exactly
// what registry:2's own `garbage-collect` would, and everything it keeps still pulls whole. One
// deliberate difference: registry:2 2.8's --delete-untagged also deletes the platform manifests
// of a tagged index (they are untagged themselves), which breaks every multi-arch image; ours
// keeps what a tag reaches through an index.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { pushImage, indexOf } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256, uniqueBlobPush } from './gc-helpers.js';
import { startStorage } from '../helpers/storage-server.js';
import { runCli } from './run-cli.js';

const run = promisify(execFile);

/** Blob digests registry:2's garbage-collect would delete, from its --dry-run output. */
async function registry2WouldDelete(root: string, deleteUntagged: boolean): Promise<string[]> {
  const config = join(root, '..', 'registry2-gc.yml');
  await writeFile(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n`);
  const args = ['garbage-collect', '--dry-run', ...(deleteUntagged ? ['--delete-untagged'] : []), config];
  const { stdout } = await run('docker-registry', args, { timeout: 60_000 });
  return [...stdout.matchAll(/blob eligible for deletion: (sha256:[a-f0-9]{64})/g)].map((m) => m[1]!).sort();
}

function deletedBlobs(stdout: string): string[] {
  return [...stdout.matchAll(/(?:would delete|deleted) blob (sha256:[a-f0-9]{64})/g)].map((m) => m[1]!).sort();
}

for (const deleteUntagged of [false, true]) {
  test.serial(`gc${deleteUntagged ? ' --delete-untagged' : ''} deletes what registry:2 would, and kept images still pull`, async (t) => {
    const storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
    t.teardown(() => storage.close());
    const client = new RegistryClient(storage.url);
    const kept = await pushImage(client, 'team/app', { tag: 'v1', layerSizes: [4096, 2048] });
    const untagged = await pushImage(client, 'team/app', { layerSizes: [1024] }); // by digest, no tag
    const arm = await pushImage(client, 'team/multi', { layerSizes: [512], platform: { os: 'linux', architecture: 'arm64' } });
    const amd = await pushImage(client, 'team/multi', { layerSizes: [512] });
    const index = indexOf([arm, amd]);
    await client.pushManifest('team/multi', 'latest', index.body, index.mediaType);
    const orphan = await uniqueBlobPush(client, 'team/app', 3000); // a layer no manifest names
    const replaced = await pushImage(client, 'team/other', { tag: 'x', layerSizes: [700] });
    const deleted = await client.send(`/v2/team/other/manifests/${replaced.digest}`, { method: 'DELETE' });
    t.is(deleted.status, 202);
    await storage.stop();

    const env = { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: storage.root };
    const flags = deleteUntagged ? ['--delete-untagged'] : [];
    const multiArch = new Set([arm, amd].flatMap((image) => [image.digest, sha256(image.config), ...image.layers.map(sha256)]));
    const registry2 = await registry2WouldDelete(storage.root, deleteUntagged);
    const expected = registry2.filter((digest) => !multiArch.has(digest));
    t.is(registry2.length > expected.length, deleteUntagged, 'registry:2 differs only on the index children, and only with --delete-untagged');
    const dry = await runCli(['gc', '--dry-run', ...flags], { env });
    t.is(dry.code, 0, dry.stderr);
    t.deepEqual(deletedBlobs(dry.stdout), expected, 'the same blobs as registry:2 garbage-collect');
    t.true(expected.includes(orphan));
    t.true(expected.includes(sha256(replaced.manifest)));
    t.is(expected.includes(untagged.digest), deleteUntagged);

    const real = await runCli(['gc', ...flags], { env });
    t.is(real.code, 0, real.stderr);
    t.deepEqual(deletedBlobs(real.stdout), expected);
    const left = await registry2WouldDelete(storage.root, deleteUntagged);
    t.deepEqual(left.filter((digest) => !multiArch.has(digest)), [], 'nothing left for registry:2 to collect');

    await storage.restart();
    const again = new RegistryClient(storage.url);
    for (const image of [kept, arm, amd]) {
      const manifest = await again.send(`/v2/${image.name}/manifests/${image.digest}`);
      t.is(manifest.status, 200);
      for (const blob of [image.config, ...image.layers]) {
        const got = await again.send(`/v2/${image.name}/blobs/${sha256(blob)}`);
        t.is(got.status, 200);
        t.true(got.body.equals(blob), 'kept blobs are intact');
      }
    }
    t.is((await again.send(`/v2/team/multi/manifests/latest`)).status, 200);
    const untaggedAfter = await again.send(`/v2/team/app/manifests/${untagged.digest}`);
    t.is(untaggedAfter.status, deleteUntagged ? 404 : 200);
  });
}

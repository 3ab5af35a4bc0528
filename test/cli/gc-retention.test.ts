// Retention rules (issue 10): keep the N most recently pushed tags and the tags matching an
// expression, delete untagged manifests; a dry run shows what the rules would remove. Also the
// small version of the scale data set (scripts/make-scale-data.mjs) collected end to end.
import { execFile } from 'node:child_process';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { pushImage, type PushedImage } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { startStorage } from '../helpers/storage-server.js';
import { runCli } from './run-cli.js';

const exec = promisify(execFile);
const tagLink = (root: string, name: string, tag: string) => join(root, 'docker/registry/v2/repositories', name, '_manifests/tags', tag, 'current/link');

test.serial('retention: the newest N tags and the matching ones stay, the others and then their manifests go', async (t) => {
  const storage = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  t.teardown(() => storage.close());
  const client = new RegistryClient(storage.url);
  const images: Record<string, PushedImage> = {};
  const tags = ['build-1', 'build-2', 'build-3', 'build-4', 'v1.0'];
  for (const tag of tags) images[tag] = await pushImage(client, 'ci/app', { tag, layerSizes: [800] });
  const other = await pushImage(client, 'prod/app', { tag: 'build-0', layerSizes: [800] });
  await storage.stop();
  // Pushed one hour apart, v1.0 first (the oldest: kept only by the expression).
  const hour = 3_600_000;
  const base = Date.now() - 10 * hour;
  for (const [i, tag] of ['v1.0', 'build-1', 'build-2', 'build-3', 'build-4'].entries()) {
    const when = new Date(base + i * hour);
    await utimes(tagLink(storage.root, 'ci/app', tag), when, when);
  }
  const env = {
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: storage.root,
    REGISTRY_STORAGE_MAINTENANCE_RETENTION: '[{repositories: "ci/**", keeptags: 2, keeptagsmatching: "^v", deleteuntaggedafter: 0s}]',
  };

  const dry = await runCli(['gc', '--dry-run'], { env });
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /would delete tag ci\/app:build-1/);
  t.regex(dry.stdout, /would delete tag ci\/app:build-2/);
  t.regex(dry.stdout, /would delete 2 tags, 2 manifests/);
  await storage.restart();
  client.baseUrl = storage.url;
  t.deepEqual(await client.tags('ci/app'), tags, 'a dry run changes nothing');
  await storage.stop();

  const real = await runCli(['gc'], { env });
  t.is(real.code, 0, real.stderr);
  for (const tag of ['build-1', 'build-2']) t.regex(real.stdout, new RegExp(`deleted manifest ci/app@${images[tag]!.digest}`));
  await storage.restart();
  client.baseUrl = storage.url;
  t.deepEqual(await client.tags('ci/app'), ['build-3', 'build-4', 'v1.0'], 'the newest two (build-3, build-4), and v1.0 that matches ^v');
  t.deepEqual(await client.tags('prod/app'), ['build-0'], 'repositories the rule does not match are untouched');
  t.is((await client.getBlob('ci/app', sha256(images['build-1']!.layers[0]!))).status, 404, 'the layers of removed tags are reclaimed');
  t.is((await client.getBlob('prod/app', sha256(other.layers[0]!))).status, 200);
});

test.serial('a small scale data set (scripts/make-scale-data.mjs) is collected: untagged manifests and orphans go, tags stay', async (t) => {
  const storage = await startStorage();
  t.teardown(() => storage.close());
  await storage.stop();
  const script = fileURLToPath(new URL('../../../scripts/make-scale-data.mjs', import.meta.url));
  await exec(process.execPath, [script, '--root', storage.root, '--repos', '20', '--tags', '4', '--manifests', '2', '--concurrency', '4'], { timeout: 120_000 });
  const result = await runCli(['gc', '--delete-untagged'], { env: { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: storage.root } });
  t.is(result.code, 0, result.stderr);
  // Per repository: 1 untagged manifest (its bytes and its config) and 1 orphan layer; plus the
  // shared layers of the pool no repository drew.
  const summary = /20 repositories, 40 manifests kept, .* deleted 0 tags, 20 manifests and (\d+) blobs/.exec(result.stdout);
  t.truthy(summary, result.stdout.slice(-400));
  t.true(Number(summary![1]) >= 60);
  await storage.restart();
  const client = new RegistryClient(storage.url);
  t.is((await client.catalog()).length, 20);
  t.deepEqual(await client.tags('team-003/app-00003'), ['v0', 'v1', 'v2', 'v3']);
  t.is((await client.getManifest('team-003/app-00003', 'v3')).status, 200);
});

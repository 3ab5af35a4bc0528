// Work per request is bounded: a manifest's references are checked once each and a few at a
// time (and capped), deeply nested JSON is refused before it is parsed.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertOciError } from '../helpers/storage-assert.js';
import { descriptorOf, jsonBytes, MEDIA, pushImage, uniqueBlob } from '../helpers/storage-fixtures.js';
import { RegistryClient } from '../helpers/storage-http.js';
import { startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let client: RegistryClient;

test.before(async () => {
  storage = await startStorage();
  client = new RegistryClient(storage.url);
});

test.after.always(async () => {
  await storage?.close();
});

function openFiles(): number {
  return readdirSync('/proc/self/fd').length;
}

test.serial('a manifest listing one blob 35,000 times is refused with a clear 400, without opening thousands of files', async (t) => {
  const image = await pushImage(client, 'work/dup', { tag: 'v1' });
  // A short media type, so that 35,000 descriptors fit under the 4 MiB manifest limit.
  const layer = descriptorOf('x', image.layers[0]!);
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(MEDIA.ociConfig, image.config),
    layers: Array.from({ length: 35_000 }, () => layer),
  });
  t.true(manifest.length < 4 * 1024 * 1024);
  const error = assertOciError(t, await client.putManifest('work/dup', 'many', manifest, MEDIA.ociManifest), 400, 'MANIFEST_INVALID');
  t.regex(error.message, /35000 descriptors; at most 10000/);
});

test.serial('a manifest listing one blob 9,000 times is checked once per distinct blob and accepted', async (t) => {
  const image = await pushImage(client, 'work/dup2', { tag: 'v1' });
  const layer = descriptorOf(MEDIA.ociLayer, image.layers[0]!);
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(MEDIA.ociConfig, image.config),
    layers: Array.from({ length: 9_000 }, () => layer),
  });
  const res = await client.putManifest('work/dup2', 'many', manifest, MEDIA.ociManifest);
  t.is(res.status, 201, res.text);
});

test.serial('2,000 distinct references are checked a few at a time (open files stay bounded)', async (t) => {
  // The blobs and their links are laid out directly on disk, in registry:2's layout (pushing
  // 2,000 blobs through the API would only make the test slow).
  const name = 'work/wide';
  const v2 = join(storage.root, 'docker/registry/v2');
  const layers = [];
  for (let i = 0; i < 2_000; i++) {
    const blob = randomBytes(16);
    const d = descriptorOf(MEDIA.ociLayer, blob);
    const hex = d.digest.slice('sha256:'.length);
    await mkdir(join(v2, 'blobs/sha256', hex.slice(0, 2), hex), { recursive: true });
    await writeFile(join(v2, 'blobs/sha256', hex.slice(0, 2), hex, 'data'), blob);
    await mkdir(join(v2, 'repositories', name, '_layers/sha256', hex), { recursive: true });
    await writeFile(join(v2, 'repositories', name, '_layers/sha256', hex, 'link'), d.digest);
    layers.push(d);
  }
  const config = uniqueBlob(64);
  await client.pushBlob(name, config);
  const manifest = jsonBytes({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: descriptorOf(MEDIA.ociConfig, config), layers });

  const baseline = openFiles();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, openFiles());
  }, 1);
  try {
    const res = await client.putManifest(name, 'wide', manifest, MEDIA.ociManifest);
    t.is(res.status, 201, res.text);
  } finally {
    clearInterval(sampler);
  }
  t.true(peak - baseline < 200, `open files rose by ${peak - baseline} while checking 2,000 references`);
});

test.serial('deeply nested JSON is refused as MANIFEST_INVALID before it is parsed', async (t) => {
  const depth = 2_000_000;
  const body = Buffer.from(`{"schemaVersion":2,"mediaType":"${MEDIA.ociManifest}","x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  t.true(body.length > 3_900_000);
  const started = Date.now();
  const error = assertOciError(t, await client.putManifest('work/nested', 'deep', body, MEDIA.ociManifest), 400, 'MANIFEST_INVALID');
  t.regex(error.message, /nested deeper than 64/);
  const elapsed = Date.now() - started;
  t.true(elapsed < 1500, `answered in ${elapsed} ms`);
  // Nesting that a manifest can really have is fine, and brackets inside strings do not count.
  const image = await pushImage(client, 'work/nested', { tag: 'v1' });
  const json = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
  json.annotations = { brackets: '['.repeat(1000), nested: 'x' };
  const res = await client.putManifest('work/nested', 'v2', jsonBytes(json), MEDIA.ociManifest);
  t.is(res.status, 201, res.text);
});

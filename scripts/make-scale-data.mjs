#!/usr/bin/env node
// Makes a big data directory for the scale measurements of garbage collection and listing
// (issue 10), writing through the storage code (Registry over the filesystem driver: the same
// files, links and fsyncs a push makes): REPOS repositories, each with MANIFESTS image manifests
// and TAGS tags over them, plus one untagged manifest and one orphan blob per repository for the
// collection to find (--fsync to make the writes durable, as storage does). Layers come from a small shared pool, as base images do.
//
//   npm run build && node scripts/make-scale-data.mjs --root /tmp/scale --repos 10000 --tags 10
// --from N (re)writes repositories N..REPOS-1 only: resumes a stopped run (the repositories it was
// writing when stopped are written again whole).
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { FilesystemDriver } from '../dist/storage/driver/filesystem.js';
import { Registry } from '../dist/storage/registry/registry.js';
import { paths } from '../dist/storage/registry/paths.js';
import { parseDigest } from '../dist/common/digest.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    repos: { type: 'string', default: '10000' },
    tags: { type: 'string', default: '10' },
    manifests: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    fsync: { type: 'boolean', default: false },
    from: { type: 'string', default: '0' },
  },
});
if (!values.root) {
  process.stderr.write('usage: node scripts/make-scale-data.mjs --root DIR [--repos 10000] [--tags 10] [--manifests 3]\n');
  process.exit(2);
}
const repos = Number(values.repos);
const tagsPerRepo = Number(values.tags);
const manifestsPerRepo = Number(values.manifests);
// The layout and every file come from the storage code; only the fsyncs are skipped (a data set
// for measurements, not data to keep: 10,000 repositories take ~40 min with them on a busy VM).
class UnsyncedDriver extends FilesystemDriver {
  async putContent(path, content) {
    const target = this.localPath(path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}
const registry = new Registry(values.fsync ? new FilesystemDriver(values.root) : new UnsyncedDriver(values.root));
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (bytes) => parseDigest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
async function putBlob(bytes) {
  const digest = digestOf(bytes);
  await registry.blobs.putSmall(digest, bytes);
  return { digest, size: bytes.length };
}
const pool = [];
for (let i = 0; i < 64; i++) pool.push(await putBlob(Buffer.from(`shared layer ${i}\n`.repeat(64))));

function repoName(i) {
  // Two levels, as teams name them: team-017/app-00042.
  return `team-${String(i % 100).padStart(3, '0')}/app-${String(i).padStart(5, '0')}`;
}

async function makeRepository(i) {
  const name = repoName(i);
  const manifests = [];
  for (let m = 0; m <= manifestsPerRepo; m++) {
    const config = await putBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', repo: name, m })));
    const layers = [pool[(i + m) % pool.length], pool[(i * 7 + m) % pool.length]];
    for (const blob of [config, ...layers]) await registry.blobs.link(name, blob.digest);
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest.digest, size: l.size })),
      }),
    );
    manifests.push(body);
  }
  // The last manifest stays untagged (pushed by digest): --delete-untagged collects it.
  const untagged = manifests.pop();
  await registry.manifests.put(name, digestOf(untagged).digest, OCI_MANIFEST, untagged);
  for (let t = 0; t < tagsPerRepo; t++) await registry.manifests.put(name, `v${t}`, OCI_MANIFEST, manifests[t % manifests.length]);
  // An orphan: a layer uploaded whose manifest never came.
  const orphan = await putBlob(Buffer.from(`orphan of ${name}\n`));
  await registry.blobs.link(name, orphan.digest);
}

const started = Date.now();
let next = Number(values.from);
let done = 0;
async function worker() {
  while (next < repos) {
    const i = next++;
    await makeRepository(i);
    done++;
    if (done % 500 === 0) process.stderr.write(`${done}/${repos} repositories, ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
}
await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
process.stdout.write(
  `${repos} repositories (${repos - Number(values.from)} written now), ${repos * tagsPerRepo} tags, ${repos * (manifestsPerRepo + 1)} manifests in ${values.root} ` +
    `(${Math.round((Date.now() - started) / 1000)} s); blobs under ${paths.blobsRoot()}\n`,
);

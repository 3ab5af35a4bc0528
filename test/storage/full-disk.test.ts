// A full disk, for real: storage runs on a 64 MiB tmpfs (mounted here; needs root). The client
// gets a clear 507 with an OCI body, nothing partial is left (no blob data under the digest, no
// link, no temporary file, no half-written upload session), pulls keep working, and pushes work
// again once space is freed.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { open as openFile, mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertOciError } from '../helpers/storage-assert.js';
import { descriptorOf, jsonBytes, MEDIA, pushImage, uniqueBlob, type PushedImage } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';

const run = promisify(execFile);
const TMPFS_SIZE = '64m';

let mountPoint: string | undefined;
let storage: TestStorage | undefined;

test.after.always(async () => {
  await storage?.stop();
  if (mountPoint) {
    await run('umount', [mountPoint]).catch(() => undefined);
    await rm(mountPoint, { recursive: true, force: true });
  }
});

/** Fills the disk with one file until the writes fail; returns its path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const handle = await openFile(path, 'w');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          const { bytesWritten } = await handle.write(chunk);
          if (bytesWritten < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return path;
}

/** No data under the digest, no link to it, no temporary files, no upload sessions. */
async function assertNothingPartial(t: ExecutionContext, root: string, digests: string[], what: string): Promise<void> {
  const tree = await listTree(root);
  for (const digest of digests) {
    const hex = digest.slice('sha256:'.length);
    t.deepEqual(tree.filter((path) => path.includes(hex)), [], `${what}: nothing under ${digest.slice(0, 19)}…`);
  }
  t.deepEqual(tree.filter((path) => path.includes('.tmp-')), [], `${what}: no temporary file`);
  t.deepEqual(tree.filter((path) => /\/_uploads\/[^/]+\/$/.test(path)), [], `${what}: no upload session left holding space`);
}

async function assertPulls(t: ExecutionContext, client: RegistryClient, image: PushedImage, what: string): Promise<void> {
  const manifest = await client.getManifest(image.name, 'v1');
  t.is(manifest.status, 200, `${what}: manifest`);
  t.true(manifest.body.equals(image.manifest), `${what}: manifest bytes`);
  for (const blob of [image.config, ...image.layers]) {
    const res = await client.getBlob(image.name, sha256(blob));
    t.is(res.status, 200, `${what}: blob`);
    t.true(res.body.equals(blob), `${what}: blob bytes`);
  }
}

test.serial('a full disk gives 507 with an OCI body, leaves nothing partial, keeps pulls working, and pushes recover', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('mounting a tmpfs needs root');
    return;
  }
  mountPoint = await mkdtemp(join(tmpdir(), 'full-disk-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountPoint]);
  const root = join(mountPoint, 'data');
  await mkdir(root);
  storage = await startStorage({ root });
  const client = new RegistryClient(storage.url);
  const image = await pushImage(client, 'disk/app', { tag: 'v1', layerSizes: [256 * 1024, 1024] });

  // A layer bigger than the disk: the PATCH fails part-way.
  const big = uniqueBlob(80 * 1024 * 1024);
  const session = await client.startUpload('disk/big');
  const patched = await client.send(session, { method: 'PATCH', body: big, headers: { 'content-type': 'application/octet-stream' } });
  const error = assertOciError(t, patched, 507, 'UNAVAILABLE', 'PATCH past the end of the disk');
  t.regex(error.message, /full/, 'the message says the storage is full');
  t.is((await client.send(session)).status, 404, 'the failed session is gone, its bytes freed');
  await assertNothingPartial(t, root, [sha256(big)], 'after the failed PATCH');
  await assertPulls(t, client, image, 'after the failed PATCH');

  // The disk stays full: every kind of write is refused cleanly, reads go on.
  const filler = await fillDisk(mountPoint);
  const layer = uniqueBlob(64 * 1024);
  const config = uniqueBlob(300);
  const monolithic = await client.send(`/v2/disk/next/blobs/uploads/?digest=${sha256(layer)}`, {
    method: 'POST',
    body: layer,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assertOciError(t, monolithic, 507, 'UNAVAILABLE', 'a monolithic upload on a full disk');
  const started = await client.send('/v2/disk/next/blobs/uploads/', { method: 'POST' });
  assertOciError(t, started, 507, 'UNAVAILABLE', 'starting an upload on a full disk');
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(MEDIA.ociConfig, image.config),
    layers: image.layers.map((l) => descriptorOf(MEDIA.ociLayer, l)),
    annotations: { nonce: sha256(uniqueBlob(8)) },
  });
  const put = await client.putManifest('disk/app', 'v2', manifest, MEDIA.ociManifest);
  assertOciError(t, put, 507, 'UNAVAILABLE', 'a manifest PUT on a full disk');
  t.deepEqual(await client.tags('disk/app'), ['v1'], 'no tag was made');
  t.is((await client.getManifest('disk/app', sha256(manifest))).status, 404, 'no manifest revision was made');
  await assertNothingPartial(t, root, [sha256(layer), sha256(manifest)], 'on the full disk');
  await assertPulls(t, client, image, 'on the full disk');

  // Space freed: pushes work again, without a restart.
  await rm(filler);
  t.is(await client.pushBlob('disk/next', layer), sha256(layer));
  t.is(await client.pushBlob('disk/next', config), sha256(config));
  t.is((await client.putManifest('disk/app', 'v2', manifest, MEDIA.ociManifest)).status, 201);
  t.deepEqual(await client.tags('disk/app'), ['v1', 'v2']);
  const again = await pushImage(client, 'disk/again', { tag: 'v1', layerSizes: [1024 * 1024] });
  await assertPulls(t, client, again, 'after freeing space');
  await assertPulls(t, client, image, 'after freeing space');
});

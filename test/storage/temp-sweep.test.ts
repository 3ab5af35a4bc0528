// Temporary files left by a writer killed between write and rename (`<file>.tmp-<12 hex>`, as the
// filesystem driver names them) are removed when storage starts; everything else stays, and the
// images stored there are still served.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { pushImage } from '../helpers/storage-fixtures.js';
import { RegistryClient } from '../helpers/storage-http.js';
import { listTree, startStorage } from '../helpers/storage-server.js';
import { waitFor } from '../helpers/wait.js';

const V2 = 'docker/registry/v2';
const HEX = 'ab'.repeat(32);

/** What a SIGKILL during putContent leaves next to the files of a pushed image. */
const ORPHANS = [
  `${V2}/repositories/sweep/app/_layers/sha256/${HEX}/link.tmp-0123456789ab`,
  `${V2}/repositories/sweep/app/_manifests/tags/v1/index/sha256/${HEX}/link.tmp-a1b2c3d4e5f6`,
  `${V2}/repositories/sweep/app/_manifests/tags/v1/current/link.tmp-ffffffffffff`,
  `${V2}/repositories/sweep/app/_uploads/0d2c7f1e/startedat.tmp-00000000abcd`,
  `${V2}/blobs/sha256/${HEX.slice(0, 2)}/${HEX}/data.tmp-123456abcdef`,
];

/** Names that only look alike, and a temp-like file outside the layout's directories: they stay. */
const KEEP = [
  `${V2}/repositories/sweep/app/_layers/sha256/${HEX}/link.tmp-0123`,
  `${V2}/repositories/sweep/app/_layers/sha256/${HEX}/link.tmp-0123456789AB`,
  `${V2}/repositories/sweep/app/_layers/sha256/${HEX}/link.tmp-0123456789ab.bak`,
  `elsewhere/notes.tmp-0123456789ab`,
  // Under a name the driver never writes (and cannot address): left alone, the sweep goes on.
  `${V2}/repositories/sweep/odd name/link.tmp-0123456789ab`,
];

async function write(root: string, path: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), 'sha256:');
}

test('storage start-up removes the temp files of interrupted writes, and only those', async (t) => {
  const storage = await startStorage();
  try {
    const client = new RegistryClient(storage.url);
    await pushImage(client, 'sweep/app', { tag: 'v1' });
    await storage.stop();
    const before = (await listTree(storage.root)).filter((p) => !p.endsWith('/'));
    for (const path of [...ORPHANS, ...KEEP]) await write(storage.root, path);

    await storage.restart();
    client.baseUrl = storage.url;
    const files = async () => (await listTree(storage.root)).filter((p) => !p.endsWith('/'));
    // The sweep runs in the background after listening.
    await waitFor(async () => (await files()).every((p) => !ORPHANS.includes(p)), 10_000);
    t.deepEqual(await files(), [...before, ...KEEP].sort(), 'every other file is untouched');
    const manifest = await client.send('/v2/sweep/app/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    t.is(manifest.status, 200);
  } finally {
    await storage.close();
  }
});

test('the sweep stops at its entry budget and says so', async (t) => {
  const storage = await startStorage();
  try {
    await storage.stop();
    for (const path of ORPHANS) await write(storage.root, path);
    const driver = new FilesystemDriver(storage.root);
    const limited = await driver.sweepTemporaryFiles([`/${V2}/repositories`], { maxEntries: 2, concurrency: 2 });
    t.true(limited.incomplete);
    const full = await driver.sweepTemporaryFiles([`/${V2}/blobs`, `/${V2}/repositories`], { maxEntries: 1000, concurrency: 2 });
    t.false(full.incomplete);
    t.deepEqual([...limited.removed, ...full.removed].sort(), ORPHANS.map((p) => `/${p}`).sort());
  } finally {
    await storage.close();
  }
});

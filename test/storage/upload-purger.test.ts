// Upload purging (registry:2's storage.maintenance.uploadpurging): sessions older than the age go,
// newer ones, blobs, manifests and tags stay; a dry run only counts.
import test from 'ava';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { purgeUploads } from '../../storage/registry/upload-purger.js';
import { pushImage } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256, withQuery } from '../helpers/storage-http.js';
import { listTree, silentLogger, startStorage } from '../helpers/storage-server.js';

const UPLOADS = (name: string) => `/docker/registry/v2/repositories/${name}/_uploads`;
/** The session id at the end of an upload location (`…/blobs/uploads/<id>?_state=…`). */
const uploadId = (location: string) => new URL(location, 'http://x').pathname.split('/').pop()!;
/** startedat as registry:2 writes it: RFC 3339, whole seconds. */
const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

test('sessions older than a tiny age are purged; newer sessions and all content stay', async (t) => {
  const storage = await startStorage();
  try {
    const client = new RegistryClient(storage.url);
    const driver = new FilesystemDriver(storage.root);
    const image = await pushImage(client, 'purge/app', { tag: 'v1' });

    const old = [await client.startUpload('purge/app'), await client.startUpload('purge/deeply/nested/repo')];
    t.is((await client.send(old[0]!, { method: 'PATCH', body: Buffer.from('abandoned') })).status, 202);
    // Leftovers of a crashed writer: data without startedat (its age is the data's mtime), and an
    // empty session folder.
    await driver.putContent(`${UPLOADS('purge/app')}/leftover-data/data`, Buffer.from('x'));
    const longAgo = new Date(Date.now() - 3600_000);
    await utimes(join(storage.root, UPLOADS('purge/app'), 'leftover-data', 'data'), longAgo, longAgo);
    await driver.putContent(`${UPLOADS('purge/app')}/empty-leftover/ignored`, Buffer.from(''));
    await driver.delete(`${UPLOADS('purge/app')}/empty-leftover/ignored`);

    // The old sessions' recorded start is moved an hour back instead of waiting for them to age.
    await driver.putContent(`${UPLOADS('purge/app')}/${uploadId(old[0]!)}/startedat`, Buffer.from(rfc3339(longAgo)));
    await driver.putContent(`${UPLOADS('purge/deeply/nested/repo')}/${uploadId(old[1]!)}/startedat`, Buffer.from(rfc3339(longAgo)));
    const fresh = await client.startUpload('purge/app');
    const freshData = Buffer.from('still being uploaded');
    t.is((await client.send(fresh, { method: 'PATCH', body: freshData })).status, 202);

    const olderThan = new Date(Date.now() - 1500);
    const dry = await purgeUploads(driver, { olderThan, dryRun: true }, silentLogger);
    t.is(dry, 4, 'a dry run counts the two old sessions and the two leftovers');
    for (const path of old) t.is((await client.send(path)).status, 204, 'a dry run removes nothing');

    const before = await listTree(storage.root);
    const purged = await purgeUploads(driver, { olderThan, dryRun: false }, silentLogger);
    t.is(purged, 4);
    for (const path of old) t.is((await client.send(path)).status, 404, `${path} purged`);
    const after = await listTree(storage.root);
    const removed = before.filter((path) => !after.includes(path));
    t.true(removed.length > 0);
    t.true(removed.every((path) => /\/_uploads\/[^/]+(\/|\/data|\/startedat)$/.test(path)), `only session files went: ${removed.join(', ')}`);

    t.is((await client.send(fresh)).header('range'), `0-${freshData.length - 1}`, 'the fresh session is intact');
    const done = await client.send(withQuery(fresh, 'digest', sha256(freshData)), { method: 'PUT' });
    t.is(done.status, 201, 'and completes');
    t.true((await client.getManifest('purge/app', 'v1')).body.equals(image.manifest), 'manifests and tags stay');
    t.true((await client.getBlob('purge/app', sha256(image.layers[0]!))).body.equals(image.layers[0]!), 'blobs stay');
    t.is(await purgeUploads(driver, { olderThan, dryRun: false }, silentLogger), 0, 'nothing left to purge');
  } finally {
    await storage.close();
  }
});

test('purging an empty root, or one without repositories, is a no-op', async (t) => {
  const storage = await startStorage();
  try {
    const driver = new FilesystemDriver(storage.root);
    t.is(await purgeUploads(driver, { olderThan: new Date(), dryRun: false }, silentLogger), 0);
    t.deepEqual(await listTree(storage.root), []);
  } finally {
    await storage.close();
  }
});

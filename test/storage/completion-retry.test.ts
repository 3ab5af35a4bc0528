// An upload whose completion failed after its digest was computed (fsync, rename or link failing)
// can be completed by retrying the PUT: the cached hash is not left finalised, and nothing
// half-done is visible in between.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { assertOciError } from '../helpers/storage-assert.js';
import { FaultyDriver, type FaultyOperation } from '../helpers/faulty-driver.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { serveStorageApp, type StorageAppServer } from '../helpers/storage-app.js';
import { RegistryClient, sha256, withQuery } from '../helpers/storage-http.js';

const cleanups: Array<() => Promise<void>> = [];
test.after.always(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function open(): Promise<{ driver: FaultyDriver; server: StorageAppServer; client: RegistryClient }> {
  const dir = await mkdtemp(join(tmpdir(), 'retry-'));
  const driver = new FaultyDriver(new FilesystemDriver(dir));
  const server = await serveStorageApp(driver);
  cleanups.push(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { driver, server, client: new RegistryClient(server.url) };
}

async function failThenRetry(t: ExecutionContext, operation: FaultyOperation, when: (path: string) => boolean): Promise<void> {
  const { driver, client } = await open();
  const name = `retry/${operation.toLowerCase()}`;
  const data = uniqueBlob(300_000);
  const digest = sha256(data);
  const path = await client.startUpload(name);
  t.is((await client.send(path, { method: 'PATCH', body: data })).status, 202);

  driver.fail(operation, { when });
  const failed = await client.send(withQuery(path, 'digest', digest), { method: 'PUT' });
  t.is(driver.injected, 1, 'the fault was injected');
  assertOciError(t, failed, 500, 'UNKNOWN', 'the failed completion');
  t.is((await client.getBlob(name, digest, {}, 'HEAD')).status, 404, 'nothing visible after the failure');

  const retried = await client.send(withQuery(path, 'digest', digest), { method: 'PUT' });
  t.is(retried.status, 201, `the retried PUT completes: ${retried.text}`);
  const served = await client.getBlob(name, digest);
  t.is(served.status, 200);
  t.true(served.body.equals(data), 'byte for byte');
}

test('a completion whose fsync failed succeeds when the PUT is retried', async (t) => {
  await failThenRetry(t, 'commit', (path) => path.includes('/_uploads/'));
});

test('a completion whose rename failed succeeds when the PUT is retried', async (t) => {
  await failThenRetry(t, 'move', (path) => path.includes('/blobs/'));
});

test('a completion whose link failed leaves no link; pushing the blob again links it', async (t) => {
  const { driver, client } = await open();
  const data = uniqueBlob(200_000);
  const digest = sha256(data);
  const path = await client.startUpload('retry/link');
  t.is((await client.send(path, { method: 'PATCH', body: data })).status, 202);
  driver.fail('putContent', { when: (p) => p.includes('/_layers/') });
  assertOciError(t, await client.send(withQuery(path, 'digest', digest), { method: 'PUT' }), 500, 'UNKNOWN');
  t.is((await client.getBlob('retry/link', digest, {}, 'HEAD')).status, 404, 'not linked');
  t.is(await client.pushBlobStreamed('retry/link', data), digest);
  t.true((await client.getBlob('retry/link', digest)).body.equals(data));
});

// Open upload sessions are capped per client (the user the gateway names, else the address it
// forwards) and in total: past a cap, POST gets 429 TOOMANYREQUESTS with an OCI body and creates
// nothing; finishing or cancelling a session makes room at once.
import test from 'ava';
import { assertOciError } from '../helpers/storage-assert.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';
import { RegistryClient, sha256, withQuery } from '../helpers/storage-http.js';

let storage: TestStorage;

test.before(async () => {
  storage = await startStorage({ config: { storageservice: { maxuploads: 6, maxuploadsperclient: 3 } } });
});

test.after.always(async () => {
  await storage?.close();
});

test.serial('past the per-client and total caps, POST is 429 with an OCI body; finishing a session makes room', async (t) => {
  const alice = new RegistryClient(storage.url, { 'x-registry-user': 'alice', 'x-forwarded-for': '10.0.0.1' });
  const fromAddress = new RegistryClient(storage.url, { 'x-forwarded-for': '10.0.0.2' });
  const bob = new RegistryClient(storage.url, { 'x-registry-user': 'bob', 'x-forwarded-for': '10.0.0.1' });

  const aliceSessions = [await alice.startUpload('caps/a'), await alice.startUpload('caps/a'), await alice.startUpload('caps/b')];
  const refused = await alice.send('/v2/caps/a/blobs/uploads/', { method: 'POST' });
  const error = assertOciError(t, refused, 429, 'TOOMANYREQUESTS', "alice's fourth session");
  t.regex(error.message, /limit per client/);
  t.truthy(refused.header('retry-after'));
  const sessionsOnDisk = (await listTree(storage.root)).filter((p) => /\/_uploads\/[^/]+\/$/.test(p));
  t.is(sessionsOnDisk.length, 3, 'the refused POST made no session');

  // Another user behind the same address has its own cap; so does an anonymous address.
  await bob.startUpload('caps/a');
  await fromAddress.startUpload('caps/a');
  await fromAddress.startUpload('caps/a');
  const full = await new RegistryClient(storage.url, { 'x-forwarded-for': '10.0.0.3' }).send('/v2/caps/c/blobs/uploads/', { method: 'POST' });
  t.regex(assertOciError(t, full, 429, 'TOOMANYREQUESTS', 'the seventh session in total').message, /open uploads/);

  // Cancelling one of alice's and completing another make room for her again.
  t.is((await alice.send(aliceSessions[0]!, { method: 'DELETE' })).status, 204);
  const data = uniqueBlob(1000);
  t.is((await alice.send(aliceSessions[1]!, { method: 'PATCH', body: data })).status, 202);
  t.is((await alice.send(withQuery(aliceSessions[1]!, 'digest', sha256(data)), { method: 'PUT' })).status, 201);
  await alice.startUpload('caps/a');
  await alice.startUpload('caps/a');
  assertOciError(t, await alice.send('/v2/caps/a/blobs/uploads/', { method: 'POST' }), 429, 'TOOMANYREQUESTS', 'alice at her cap again');
});

// Many clients at once: the same blob pushed by 16 clients, 16 manifests raced onto one tag while
// others read it, two writers on one upload session, and many layers of one image in parallel.
import test from 'ava';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { descriptorOf, jsonBytes, MEDIA, pushImage, uniqueBlob } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256, type HttpResponse } from '../helpers/storage-http.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';

let storage: TestStorage;
let client: RegistryClient;
const CLIENTS = 16;

test.before(async () => {
  storage = await startStorage();
  client = new RegistryClient(storage.url);
});

test.after.always(async () => {
  await storage?.close();
});

async function blobFiles(digest: string): Promise<string[]> {
  const hex = digest.slice('sha256:'.length);
  return await listTree(join(storage.root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex));
}

async function leftoverSessions(name: string): Promise<string[]> {
  return await listTree(join(storage.root, 'docker/registry/v2/repositories', name, '_uploads'));
}

test('16 clients pushing the same blob at once all get 201 and the blob is right', async (t) => {
  const data = uniqueBlob(2 * 1024 * 1024 + 11);
  const digest = sha256(data);
  const results = await Promise.allSettled(
    Array.from({ length: CLIENTS }, (_, i) =>
      // Half monolithic, half POST + PATCH + PUT, as different clients do it.
      i % 2 === 0 ? client.pushBlob('conc/same', data) : client.pushBlobStreamed('conc/same', data),
    ),
  );
  const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  t.deepEqual(failed, [], 'every push succeeded with 201');
  t.true(results.every((r) => r.status === 'fulfilled' && r.value === digest));
  const res = await client.getBlob('conc/same', digest);
  t.is(res.status, 200);
  t.true(res.body.equals(data), 'the blob is right');
  t.deepEqual(await blobFiles(digest), ['data'], 'one data file, no temporary files');
  t.deepEqual(await leftoverSessions('conc/same'), [], 'no session left behind');
});

test('the same blob pushed into 16 repositories at once is readable from each', async (t) => {
  const data = uniqueBlob(512 * 1024);
  const digest = sha256(data);
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client.pushBlobStreamed(`conc/many-${i}`, data)));
  for (let i = 0; i < CLIENTS; i++) t.true((await client.getBlob(`conc/many-${i}`, digest)).body.equals(data), `repository ${i}`);
  t.deepEqual(await blobFiles(digest), ['data']);
});

test('16 clients tagging one tag with different manifests: the tag ends on one of them, whole', async (t) => {
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  await client.pushBlob('conc/tag', config);
  const layers = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const layer = uniqueBlob(1000);
      await client.pushBlob('conc/tag', layer);
      return layer;
    }),
  );
  const manifests = layers.map((layer, i) =>
    jsonBytes({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: descriptorOf(MEDIA.ociConfig, config),
      layers: [descriptorOf(MEDIA.ociLayer, layer)],
      annotations: { writer: String(i), padding: 'p'.repeat(i * 1000) },
    }),
  );
  const digests = new Set(manifests.map((m) => sha256(m)));

  // Readers race the writers: every read is 404 (not tagged yet) or one whole manifest.
  let racing = true;
  const torn: string[] = [];
  const readers = Array.from({ length: 4 }, async () => {
    while (racing) {
      const res = await client.getManifest('conc/tag', 'latest');
      if (res.status === 404) continue;
      if (res.status !== 200 || !digests.has(sha256(res.body)) || res.header('docker-content-digest') !== sha256(res.body)) {
        torn.push(`${res.status} ${res.header('docker-content-digest')} ${res.body.length} bytes`);
      }
    }
  });
  const writes: HttpResponse[] = await Promise.all(manifests.map((m) => client.putManifest('conc/tag', 'latest', m, MEDIA.ociManifest)));
  racing = false;
  await Promise.all(readers);

  t.deepEqual(writes.map((w) => w.status), Array(CLIENTS).fill(201), 'every PUT was accepted');
  t.deepEqual(torn, [], 'no reader saw a torn or mismatched manifest');
  const final = await client.getManifest('conc/tag', 'latest');
  t.is(final.status, 200);
  t.true(digests.has(sha256(final.body)), 'the tag points to one of the pushed manifests');
  t.is(final.header('docker-content-digest'), sha256(final.body));
  t.is(final.header('content-length'), String(final.body.length));
  t.deepEqual(await client.tags('conc/tag'), ['latest']);
  for (const manifest of manifests) {
    t.true((await client.getManifest('conc/tag', sha256(manifest))).body.equals(manifest), 'each one stays by digest');
  }
  const index = await listTree(join(storage.root, 'docker/registry/v2/repositories/conc/tag/_manifests/tags/latest/index/sha256'));
  t.is(index.filter((p) => p.endsWith('/link')).length, CLIENTS, 'the tag index remembers every manifest (for registry:2 gc)');
});

test('a second writer on a busy upload session gets 416 with the current Range', async (t) => {
  const path = await client.startUpload('conc/session');
  const first = new PassThrough();
  const firstDone = client.send(path, { method: 'PATCH', body: first, headers: { 'content-type': 'application/octet-stream' } });
  first.write(Buffer.alloc(1000, 1));
  // Wait until the first writer holds the session. On a filesystem its bytes show as they land.
  // On S3 an object appears only when its writer closes (registry:2's s3 driver shows whole parts
  // only, too), so the range stays what was acknowledged before, none: there, a few status round
  // trips behind the first writer's bytes are the sign that storage has taken its request.
  const s3 = storage.config.storage.driver === 's3';
  const current = s3 ? '0-0' : '0-999';
  for (let i = 0; i < 400; i++) {
    if ((await client.send(path)).header('range') === current && (!s3 || i >= 3)) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const second = await client.send(path, { method: 'PATCH', body: Buffer.alloc(10, 2) });
  t.is(second.status, 416, second.text);
  t.is(second.header('range'), current);
  t.is(second.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'BLOB_UPLOAD_INVALID');
  first.end(Buffer.alloc(500, 1));
  const done = await firstDone;
  t.is(done.status, 202);
  t.is(done.header('range'), '0-1499');
  const complete = await client.send(`${path}${path.includes('?') ? '&' : '?'}digest=${sha256(Buffer.alloc(1500, 1))}`, { method: 'PUT' });
  t.is(complete.status, 201, 'the first writer\'s bytes alone make the blob');
});

test('an image with many layers uploaded in parallel, then its manifest', async (t) => {
  const image = await pushImage(client, 'conc/layers', { layerSizes: Array.from({ length: CLIENTS }, (_, i) => 10_000 + i * 5000), tag: 'v1' });
  t.true((await client.getManifest('conc/layers', 'v1')).body.equals(image.manifest));
  const reads = await Promise.all(image.layers.map((layer) => client.getBlob('conc/layers', sha256(layer))));
  t.true(reads.every((res, i) => res.status === 200 && res.body.equals(image.layers[i]!)));
});

test('parallel downloads of one blob all get every byte', async (t) => {
  const data = uniqueBlob(4 * 1024 * 1024);
  const digest = await client.pushBlob('conc/download', data);
  const reads = await Promise.all(Array.from({ length: CLIENTS }, () => client.getBlob('conc/download', digest)));
  t.true(reads.every((res) => res.status === 200 && res.body.equals(data)));
});

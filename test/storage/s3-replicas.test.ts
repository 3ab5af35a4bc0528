// Several storage replicas over one bucket, and registry:2 (Debian's docker-registry, s3 driver)
// over the same bucket, on a real S3 engine (Ceph RGW started here):
// - an upload's PATCH, PATCH, PUT each land on a different replica (nothing shared but the bucket);
// - skopeo pushes through us and pulls through registry:2, and the other way round;
// - storage.redirect: blob GETs answer 307 to a presigned URL and skopeo follows it.
import '../helpers/s3-backend.js';
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciLayout, type BuiltImage } from '../helpers/oci-image.js';
import { runOk } from '../e2e/helpers/run.js';
import { RegistryClient, sha256, locationPath, withQuery } from '../helpers/storage-http.js';
import { snapshotRepository } from '../helpers/storage-image.js';
import { startStorage, type TestStorage } from '../helpers/storage-server.js';
import { startDistribution, type Distribution } from '../helpers/storage-distribution.js';
import { uniqueBlob } from '../helpers/storage-fixtures.js';
import { RGW_ACCESS_KEY, RGW_SECRET_KEY } from '../helpers/rgw.js';

let a: TestStorage;
let b: TestStorage;
let redirecting: TestStorage;
let registry2: Distribution;
let dir: string;
let authFile: string;
let image: { dir: string; image: BuiltImage };

test.before(async () => {
  a = await startStorage({ config: { storage: { delete: { enabled: true } } } });
  b = await startStorage({ root: a.root, config: { storage: { delete: { enabled: true } } } });
  redirecting = await startStorage({ root: a.root, config: { storage: { redirect: true } } });
  dir = await mkdtemp(join(tmpdir(), 's3-replicas-'));
  authFile = join(dir, 'auth.json');
  await writeFile(authFile, '{}');
  const s3 = a.config.storage.s3!;
  registry2 = await startDistribution(join(dir, 'unused'), join(dir, 'registry2'), { storage: [
    '  s3:',
    `    region: ${s3.region}`,
    `    regionendpoint: ${s3.regionendpoint}`,
    `    bucket: ${s3.bucket}`,
    `    accesskey: ${RGW_ACCESS_KEY}`,
    `    secretkey: ${RGW_SECRET_KEY}`,
    `    rootdirectory: ${s3.rootdirectory}`,
    '    secure: false',
    '    v4auth: true',
    '  redirect:',
    '    disable: true',
  ] });
  image = { dir: join(dir, 'image'), image: await buildOciLayout(join(dir, 'image'), 'v1', { files: { 'hello.txt': 'hello s3\n' }, bigLayerMiB: 12, seed: 's3' }) };
});

test.after.always(async () => {
  await registry2?.stop();
  await redirecting?.close();
  await b?.close();
  await a?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const host = (url: string) => new URL(url).host;
const skopeo = (...args: string[]) => {
  const [command, ...rest] = args;
  return runOk('skopeo', [command!, '--authfile', authFile, ...rest], { timeoutMs: 180_000 });
};

test.serial('PATCH, PATCH, PUT of one upload each on a different replica: the blob is whole', async (t) => {
  const ca = new RegistryClient(a.url);
  const cb = new RegistryClient(b.url);
  const data = uniqueBlob(13 * 1024 * 1024 + 77);
  const digest = sha256(data);
  const cuts = [0, 6 * 1024 * 1024, 9 * 1024 * 1024, data.length];
  const start = await ca.send('/v2/rep/app/blobs/uploads/', { method: 'POST' });
  t.is(start.status, 202);
  let location = locationPath(start.header('location'));
  const replicas = [cb, ca];
  for (let i = 0; i < 2; i++) {
    const chunk = data.subarray(cuts[i], cuts[i + 1]);
    const res = await replicas[i]!.send(location, {
      method: 'PATCH',
      body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${cuts[i]}-${cuts[i + 1]! - 1}` },
    });
    t.is(res.status, 202, `PATCH ${i} on replica ${i === 0 ? 'b' : 'a'}: ${res.text}`);
    t.is(res.header('range'), `0-${cuts[i + 1]! - 1}`);
    location = locationPath(res.header('location'));
  }
  // A third replica, with the last bytes in the PUT's body.
  const put = await new RegistryClient(redirecting.url).send(withQuery(location, 'digest', digest), {
    method: 'PUT',
    body: data.subarray(cuts[2]),
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.is(put.status, 201, put.text);
  for (const client of [ca, cb]) {
    const got = await client.getBlob('rep/app', digest);
    t.is(got.status, 200);
    t.true(got.body.equals(data), 'every byte, from each replica');
  }
});

test.serial('a wrong digest on another replica is refused and stores nothing', async (t) => {
  const ca = new RegistryClient(a.url);
  const data = uniqueBlob(100_000);
  const start = await ca.send('/v2/rep/bad/blobs/uploads/', { method: 'POST' });
  const patched = await new RegistryClient(b.url).send(locationPath(start.header('location')), { method: 'PATCH', body: data, headers: { 'content-type': 'application/octet-stream' } });
  t.is(patched.status, 202);
  const wrong = sha256(Buffer.from('not it'));
  const put = await ca.send(withQuery(locationPath(patched.header('location')), 'digest', wrong), { method: 'PUT' });
  t.is(put.status, 400);
  t.is((await ca.getBlob('rep/bad', wrong, {}, 'HEAD')).status, 404);
});

test.serial('skopeo pushes through us, registry:2 serves it from the bucket byte for byte', async (t) => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${host(a.url)}/interop/ours:v1`);
  const ours = await snapshotRepository(new RegistryClient(a.url), 'interop/ours');
  const theirs = await snapshotRepository(new RegistryClient(registry2.url), 'interop/ours');
  t.deepEqual(theirs, ours);
  t.is(ours.tags['v1'], image.image.manifest.digest);
  const out = join(dir, 'from-registry2');
  await skopeo('copy', '--src-tls-verify=false', `docker://${host(registry2.url)}/interop/ours:v1`, `oci:${out}:v1`);
  const inspected = JSON.parse(await skopeo('inspect', '--raw', `oci:${out}:v1`)) as { layers: unknown[] };
  t.is(inspected.layers.length, image.image.layers.length);
});

test.serial('skopeo pushes through registry:2, we serve it from the bucket byte for byte', async (t) => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${host(registry2.url)}/interop/theirs:v1`);
  const theirs = await snapshotRepository(new RegistryClient(registry2.url), 'interop/theirs');
  const ours = await snapshotRepository(new RegistryClient(b.url), 'interop/theirs');
  t.deepEqual(ours, theirs);
  const out = join(dir, 'from-us');
  await skopeo('copy', '--src-tls-verify=false', `docker://${host(b.url)}/interop/theirs:v1`, `oci:${out}:v1`);
  t.is(sha256(Buffer.from(await skopeo('inspect', '--raw', `oci:${out}:v1`))), image.image.manifest.digest);
});

test.serial('storage.redirect: a blob GET is a 307 to the bucket, and skopeo follows it', async (t) => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${host(a.url)}/redirect/app:v1`);
  const layer = image.image.layers[0]!.digest;
  const res = await new RegistryClient(redirecting.url).send(`/v2/redirect/app/blobs/${layer}`);
  t.is(res.status, 307);
  const target = new URL(res.header('location'));
  t.is(target.origin, a.config.storage.s3!.regionendpoint ?? "", 'the client goes to the object store');
  t.regex(target.search, /X-Amz-Signature=/);
  const direct = await fetch(target);
  t.is(sha256(Buffer.from(await direct.arrayBuffer())), layer);
  const ranged = await new RegistryClient(redirecting.url).send(`/v2/redirect/app/blobs/${layer}`, { headers: { range: 'bytes=0-9' } });
  t.is(ranged.status, 206, 'ranges are answered by storage itself');
  const out = join(dir, 'redirected');
  await skopeo('copy', '--src-tls-verify=false', `docker://${host(redirecting.url)}/redirect/app:v1`, `oci:${out}:v1`);
  t.is(sha256(Buffer.from(await skopeo('inspect', '--raw', `oci:${out}:v1`))), image.image.manifest.digest);
});

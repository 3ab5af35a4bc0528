// The shared driver suite over the S3 driver against a real S3 engine (Ceph RGW started here),
// plus what only S3 can show: registry:2's key layout, streamed multipart writes, appends
// across writers (replicas) with server-side copies.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ListObjectsV2Command, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { MIN_CHUNK_SIZE, S3Driver } from '../../storage/driver/s3.js';
import { registerDriverSuite } from './driver-suite.js';
import { startRgw, type Rgw } from '../helpers/rgw.js';

let rgw: Rgw | undefined;
test.before(async () => {
  rgw = await startRgw();
  console.log(`rgw started in ${rgw.startMs} ms`);
});
test.after.always(async () => {
  await rgw?.stop();
});

async function freshDriver(rootdirectory = '/some/root') {
  const bucket = await rgw!.newBucket();
  const driver = new S3Driver(rgw!.settings(bucket, { rootdirectory, chunksize: MIN_CHUNK_SIZE }));
  return { driver, bucket, cleanup: () => rgw!.dropBucket(bucket) };
}

registerDriverSuite('s3', () => freshDriver());
registerDriverSuite('s3 at the bucket root', () => freshDriver(''));

test('s3: keys are registry:2 s3 keys: rootdirectory + path, no leading slash', async (t) => {
  const { driver, bucket, cleanup } = await freshDriver('/reg/');
  try {
    await driver.putContent('/docker/registry/v2/repositories/a/_layers/sha256/ab/link', Buffer.from('sha256:ab'));
    const out = await driver.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    t.deepEqual(out.Contents?.map((o) => o.Key), ['reg/docker/registry/v2/repositories/a/_layers/sha256/ab/link']);
  } finally {
    await cleanup();
  }
});

test('s3: a big write streams in parts; appends by other writers (replicas) keep every byte', async (t) => {
  const { driver, bucket, cleanup } = await freshDriver();
  try {
    const first = randomBytes(MIN_CHUNK_SIZE * 2 + 1234); // parts, then a small last part
    const second = randomBytes(1000); // small: the existing object is copied server-side
    const third = randomBytes(MIN_CHUNK_SIZE + 5);
    const w1 = await driver.writer('/u/data', false);
    await pipeline(Readable.from([first]), w1.stream);
    await w1.close();
    const other = new S3Driver(driver.settings); // another replica: nothing shared but the bucket
    const w2 = await other.writer('/u/data', true);
    t.is(w2.size, first.length);
    await pipeline(Readable.from([second]), w2.stream);
    await w2.close();
    const w3 = await driver.writer('/u/data', true);
    await pipeline(Readable.from([third]), w3.stream);
    await w3.commit();
    const all = Buffer.concat([first, second, third]);
    const got = await driver.getContent('/u/data');
    t.true(got.equals(all), `${got.length} vs ${all.length}`);
    const multipart = await driver.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    t.is(multipart.Uploads?.length ?? 0, 0, 'no multipart upload left behind');
  } finally {
    await cleanup();
  }
});

test('s3: a failed writer leaves the file as it was (acknowledged bytes survive)', async (t) => {
  const { driver, cleanup } = await freshDriver();
  try {
    const first = randomBytes(MIN_CHUNK_SIZE + 10);
    const w1 = await driver.writer('/f/data', false);
    await pipeline(Readable.from([first]), w1.stream);
    await w1.close();
    const w2 = await driver.writer('/f/data', true);
    const failing = new Readable({
      read() {
        this.push(randomBytes(MIN_CHUNK_SIZE + 1));
        this.destroy(new Error('client went away'));
      },
    });
    await t.throwsAsync(pipeline(failing, w2.stream));
    await w2.cancel().catch(() => undefined);
    // cancel removes the file (the session is given up); a writer that only closes keeps the bytes:
    const w3 = await driver.writer('/f/data2', false);
    await pipeline(Readable.from([first]), w3.stream);
    await w3.close();
    const w4 = await driver.writer('/f/data2', true);
    w4.stream.on('error', () => undefined);
    w4.stream.destroy(new Error('killed'));
    await w4.close().catch(() => undefined);
    t.true((await driver.getContent('/f/data2')).equals(first));
  } finally {
    await cleanup();
  }
});

test('s3: presigned redirect URLs serve the object', async (t) => {
  const { driver, cleanup } = await freshDriver();
  try {
    await driver.putContent('/r/file', Buffer.from('redirected'));
    const url = await driver.redirectURL('/r/file', 'GET');
    const res = await fetch(url);
    t.is(res.status, 200);
    t.is(await res.text(), 'redirected');
  } finally {
    await cleanup();
  }
});

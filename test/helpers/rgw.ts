// A throwaway Ceph RADOS Gateway (a real S3 engine) for the S3 driver tests: one monitor, one
// OSD and radosgw on loopback, in a temporary directory, on free ports; started by the test
// that needs it (scripts/rgw/start-rgw.sh, from ../shared/s3) and stopped by PID with its files.
import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, ListMultipartUploadsCommand, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { defaultS3Settings, S3Driver, type S3Settings } from '../../storage/driver/s3.js';
import { freePort } from './net.js';

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('../../../scripts/rgw/', import.meta.url));

export const RGW_ACCESS_KEY = 'TESTACCESSKEY';
export const RGW_SECRET_KEY = 'TESTSECRETKEY';

export interface Rgw {
  endpoint: string;
  /** ms the start took (for the CI time report). */
  startMs: number;
  /** Driver settings for `bucket` on this gateway. */
  settings(bucket: string, extra?: Partial<S3Settings>): S3Settings;
  /** Creates a fresh, empty bucket and returns its name. */
  newBucket(): Promise<string>;
  /** Removes every object (and unfinished multipart upload) of the bucket, then the bucket. */
  dropBucket(bucket: string): Promise<void>;
  stop(): Promise<void>;
  /** The temporary directory (for stopRgwSync). */
  dir: string;
}

/** Stops RGW from a process 'exit' handler, where nothing asynchronous runs any more. */
export function stopRgwSync(rgw: Rgw): void {
  try {
    execFileSync('bash', [join(SCRIPTS, 'stop-rgw.sh'), join(rgw.dir, 'c')], { stdio: 'ignore' });
  } finally {
    rmSync(rgw.dir, { recursive: true, force: true });
  }
}

/** Starts RGW; retries once on a port taken between choosing and binding it. */
export async function startRgw(): Promise<Rgw> {
  const dir = await mkdtemp(join(tmpdir(), 'rgw-'));
  const started = Date.now();
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const monPort = await freePort();
    try {
      await run('bash', [join(SCRIPTS, 'start-rgw.sh'), join(dir, 'c'), String(port), String(monPort)], {
        env: { ...process.env, STORE: process.env.RGW_STORE ?? 'bluestore' },
        timeout: 120_000,
      });
      break;
    } catch (err) {
      await run('bash', [join(SCRIPTS, 'stop-rgw.sh'), join(dir, 'c')]).catch(() => undefined);
      if (attempt >= 2) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const settings = (bucket: string, extra: Partial<S3Settings> = {}) =>
    defaultS3Settings({ bucket, regionendpoint: endpoint, forcepathstyle: true, accesskey: RGW_ACCESS_KEY, secretkey: RGW_SECRET_KEY, ...extra });
  const c = new S3Driver(settings('admin')).client;
  return {
    endpoint,
    dir,
    startMs: Date.now() - started,
    settings,
    async newBucket() {
      const bucket = `t-${randomBytes(6).toString('hex')}`;
      await c.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async dropBucket(bucket) {
      await dropBucket(bucket).catch(() => undefined); // RGW may be stopping already
    },
    async stop() {
      c.destroy();
      await run('bash', [join(SCRIPTS, 'stop-rgw.sh'), join(dir, 'c')]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  async function dropBucket(bucket: string): Promise<void> {
      const uploads = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket })).catch(() => undefined);
      for (const u of uploads?.Uploads ?? []) await c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => undefined);
      let token: string | undefined;
      do {
        const out = await c.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        const keys = (out.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length > 0) await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      await c.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  }
}

/** The `REGISTRY_STORAGE_S3_*` environment of a registry process serving `bucket` on this RGW. */
export function rgwEnvironment(rgw: Rgw, bucket: string): Record<string, string> {
  return {
    REGISTRY_STORAGE: 's3',
    REGISTRY_STORAGE_S3_REGIONENDPOINT: rgw.endpoint,
    REGISTRY_STORAGE_S3_BUCKET: bucket,
    REGISTRY_STORAGE_S3_ACCESSKEY: RGW_ACCESS_KEY,
    REGISTRY_STORAGE_S3_SECRETKEY: RGW_SECRET_KEY,
    REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
  };
}

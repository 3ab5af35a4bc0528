// The real storage service for tests: runStorage on a free loopback port over a temporary root
// directory, with a silent logger. `restart` closes it and starts it again on the same root, the
// way a crashed or upgraded process comes back.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import type { RegistryConfig } from '../../common/config/types.js';
import type { RunningServer } from '../../common/running-server.js';
import { runStorage } from '../../storage/main.js';
import { testConfig, type ConfigOverrides } from './config.js';
import { isPathNotFound, walk } from '../../storage/driver/driver.js';
import { S3Driver } from '../../storage/driver/s3.js';
import type { Rgw } from './rgw.js';

export interface TestStorage {
  /** `http://127.0.0.1:<port>` of the running service. */
  url: string;
  /** The temporary directory that holds `root` (the root's parent when the caller gave the root). */
  dir: string;
  /** storage.filesystem.rootdirectory. */
  root: string;
  config: RegistryConfig;
  /** Closes the service and starts it again on the same root (a new port). */
  restart(): Promise<void>;
  /** Stops the service; the directory stays until `close`. */
  stop(): Promise<void>;
  /** Stops the service and removes the temporary directory it made (not a root the caller gave). */
  close(): Promise<void>;
}

export interface TestStorageOptions {
  /** Merged into the test config; the root directory and the address are filled in. */
  config?: ConfigOverrides;
  /** Serve an existing root directory (e.g. one registry:2 wrote) instead of a new one. */
  root?: string;
}

export const silentLogger = pino({ level: 'silent' });

/**
 * The S3 backend for the API tests (test/storage/api-on-s3.test.ts): while set, startStorage
 * serves a fresh bucket on this RGW instead of a directory; `root` is then a made-up path that
 * listTree understands.
 */
let s3Backend: Promise<Rgw> | undefined;
const s3Roots = new Map<string, S3Driver>();

export function useS3Backend(rgw: Promise<Rgw> | undefined): void {
  s3Backend = rgw;
}

async function startS3Storage(options: TestStorageOptions): Promise<TestStorage> {
  const rgw = await s3Backend!;
  const given = options.root !== undefined ? s3Roots.get(options.root) : undefined;
  if (options.root !== undefined && !given) throw new Error('an existing directory cannot be served on the S3 backend');
  const bucket = given?.settings.bucket ?? (await rgw.newBucket());
  const s3 = rgw.settings(bucket, { chunksize: 5 * 1024 * 1024, rootdirectory: '/registry' });
  const root = `/s3-test/${bucket}`;
  s3Roots.set(root, new S3Driver(s3));
  const config = testConfig({
    ...options.config,
    storage: { ...options.config?.storage, driver: 's3', s3 },
    storageservice: { ...options.config?.storageservice, addr: '127.0.0.1:0' },
  });
  return await serve(config, root, root, async () => {
    if (!given) await rgw.dropBucket(bucket);
  });
}

/** listTree over a bucket: the same answer as over a directory (S3 has no empty directories). */
async function listS3Tree(dir: string): Promise<string[] | undefined> {
  for (const [root, driver] of s3Roots) {
    if (dir !== root && !dir.startsWith(`${root}/`)) continue;
    const base = dir.slice(root.length) || '/';
    const found: string[] = [];
    try {
      await walk(driver, base, (info) => {
        const rel = info.path.slice(base === '/' ? 1 : base.length + 1);
        found.push(info.isDir ? `${rel}/` : rel);
      });
    } catch (err) {
      if (!isPathNotFound(err)) throw err;
    }
    return found.sort();
  }
  return undefined;
}

export async function startStorage(options: TestStorageOptions = {}): Promise<TestStorage> {
  if (s3Backend) return await startS3Storage(options);
  // A given root belongs to the caller: nothing is made around it, and close leaves it.
  const owned = options.root === undefined;
  const dir = owned ? await mkdtemp(join(tmpdir(), 'storage-test-')) : dirname(options.root!);
  const root = options.root ?? join(dir, 'data');
  await mkdir(root, { recursive: true });
  const config = testConfig({
    ...options.config,
    storage: { ...options.config?.storage, filesystem: { rootdirectory: root } },
    storageservice: { ...options.config?.storageservice, addr: '127.0.0.1:0' },
  });
  return await serve(config, dir, root, async () => {
    if (owned) await rm(dir, { recursive: true, force: true });
  });
}

/** Runs storage with `config`; `cleanup` runs after it stops for good (close). */
async function serve(config: RegistryConfig, dir: string, root: string, cleanup: () => Promise<void>): Promise<TestStorage> {
  let running: RunningServer | undefined = await runStorage(config, silentLogger);
  const handle: TestStorage = {
    url: running.urls[0]!,
    dir,
    root,
    config,
    async restart() {
      await handle.stop();
      running = await runStorage(config, silentLogger);
      handle.url = running.urls[0]!;
    },
    async stop() {
      const current = running;
      running = undefined;
      await current?.close();
    },
    async close() {
      await handle.stop();
      await cleanup();
    },
  };
  return handle;
}

/**
 * Every file and directory under `dir`, relative and sorted (directories end with `/`); [] when
 * `dir` does not exist; a top-level `_control` (storage's control socket) is left out. Entries removed while it reads (other requests finishing) are skipped.
 */
export async function listTree(dir: string): Promise<string[]> {
  const s3 = await listS3Tree(dir);
  if (s3) return s3;
  const found: string[] = [];
  async function visit(relativeDir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(join(dir, relativeDir), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      // The running storage's control socket (storage/control-socket.ts) is not data.
      if (relativeDir === '' && entry.name === '_control') continue;
      const path = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) {
        found.push(`${path}/`);
        await visit(path);
      } else {
        found.push(path);
      }
    }
  }
  await visit('');
  return found.sort();
}

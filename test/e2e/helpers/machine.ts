// Machine-wide state the end-to-end tests must touch, handled so that only what they created is
// undone: the e2e lock (port 80, /etc/hosts and the clients' global directories are shared by
// every e2e file, so the files take turns), the docker-registry.home line in /etc/hosts, and the
// run/cache directories that dockerd, containerd and podman create outside their own roots.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './daemon.js';

export const REGISTRY_HOST_NAME = 'docker-registry.home';
const HOSTS_FILE = '/etc/hosts';
const HOSTS_MARKER = '# oci-registry-ts e2e';
const LOCK_DIR = join(tmpdir(), 'oci-registry-ts-e2e.lock');

/** Directories the clients create outside the roots the tests give them (README section 13). */
const CLIENT_GLOBAL_PATHS = [
  '/run/docker',
  '/run/containerd',
  '/run/libpod',
  '/run/containers',
  '/run/crun',
  '/run/runc',
  '/etc/containers/networks',
  '/var/lib/containers',
];

export function assertRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('the e2e tests need root (port 80, /etc/hosts, dockerd, containerd): run them as root');
  }
}

/** A new directory under the temp dir; lowercase, because podman names `oci:` images after the path. */
export async function makeTempDir(prefix: string): Promise<string> {
  for (;;) {
    const dir = join(tmpdir(), `${prefix}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(dir, { mode: 0o700 });
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export interface MachineLock {
  release(): Promise<void>;
}

/**
 * Waits for the e2e lock (a directory holding the owner's pid). A lock whose owner is gone is
 * taken over, so a killed test run never blocks the next one.
 */
export async function acquireE2eLock(timeoutMs = 10 * 60_000): Promise<MachineLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(join(LOCK_DIR, 'pid'), String(process.pid));
      return {
        release: async () => {
          if ((await lockOwner()) === process.pid) await rm(LOCK_DIR, { recursive: true, force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await lockOwner();
    if (owner === undefined) {
      // Just created by someone who has not written the pid yet, or left empty by a crash.
      const age = await lockAgeMs();
      if (age !== undefined && age > 10_000) await rm(LOCK_DIR, { recursive: true, force: true });
    } else if (!isAlive(owner)) {
      await rm(LOCK_DIR, { recursive: true, force: true });
    }
    if (Date.now() > deadline) throw new Error(`the e2e lock ${LOCK_DIR} is still held by pid ${owner} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function lockOwner(): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(join(LOCK_DIR, 'pid'), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function lockAgeMs(): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(LOCK_DIR)).mtimeMs;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Makes `docker-registry.home` resolve to 127.0.0.1. Returns an undo function that removes the
 * line only if this call added it (an existing line for 127.0.0.1 is used as it is).
 */
export async function addHostsEntry(): Promise<() => Promise<void>> {
  const text = await readFile(HOSTS_FILE, 'utf8');
  const existing = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .find((fields) => fields.slice(1).includes(REGISTRY_HOST_NAME));
  if (existing) {
    if (existing[0] !== '127.0.0.1') {
      throw new Error(`${HOSTS_FILE} maps ${REGISTRY_HOST_NAME} to ${existing[0]}; the e2e tests need 127.0.0.1`);
    }
    return async () => {};
  }
  const line = `127.0.0.1 ${REGISTRY_HOST_NAME} ${HOSTS_MARKER}`;
  // Rewritten in place, not renamed: /etc/hosts is often a bind mount in containers.
  await writeFile(HOSTS_FILE, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${line}\n`);
  return async () => {
    const now = await readFile(HOSTS_FILE, 'utf8');
    const kept = now.split('\n').filter((l) => !l.endsWith(HOSTS_MARKER));
    await writeFile(HOSTS_FILE, kept.join('\n'));
  };
}

/** Remembers which client directories do not exist yet; the returned function removes those. */
export async function trackClientGlobalPaths(): Promise<() => Promise<void>> {
  const absent: string[] = [];
  for (const path of CLIENT_GLOBAL_PATHS) {
    if (!(await exists(path))) absent.push(path);
  }
  return async () => {
    for (const path of absent) await rm(path, { recursive: true, force: true });
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

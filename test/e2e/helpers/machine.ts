// Machine-wide state the end-to-end tests must touch, handled so that only what they created is
// undone: the e2e lock (port 80, /etc/hosts and the clients' global directories are shared by
// every e2e file, so the files take turns), the docker-registry.home line in /etc/hosts, and the
// run/cache directories that dockerd, containerd and podman create outside their own roots.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, sleep } from './run.js';

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
      if (age !== undefined && age > 10_000) await takeOverStaleLock();
    } else if (!isAlive(owner)) {
      await takeOverStaleLock();
    }
    if (Date.now() > deadline) throw new Error(`the e2e lock ${LOCK_DIR} is still held by pid ${owner} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/**
 * Records a daemon the tests started (its `timeout` wrapper, leader of its process group), so
 * that a run killed before its cleanup (Ctrl-C, a crashed worker) does not leave nginx on port
 * 80 for the next run: whoever takes the stale lock over stops them (and removes the recorded
 * paths).
 */
export async function recordDaemon(pid: number): Promise<void> {
  if ((await lockOwner()) === process.pid) await appendFile(join(LOCK_DIR, 'daemons'), `${pid}\n`);
}

async function takeOverStaleLock(): Promise<void> {
  const recorded = await readFile(join(LOCK_DIR, 'daemons'), 'utf8').catch(() => '');
  const groups = recorded
    .split('\n')
    .map((line) => Number.parseInt(line, 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0 && isOurTimeoutWrapper(pid));
  for (const pid of groups) killGroup(pid, 'SIGTERM');
  if (groups.length > 0) await sleep(3000);
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  const paths = await readFile(join(LOCK_DIR, 'paths'), 'utf8').catch(() => '');
  for (const path of paths.split('\n').filter((p) => p.startsWith('/'))) await rm(path, { recursive: true, force: true });
  await rm(LOCK_DIR, { recursive: true, force: true });
}

/** Records a path the tests created, for whoever takes over the lock after a killed run. */
export async function recordCreatedPath(path: string): Promise<void> {
  if ((await lockOwner()) === process.pid) await appendFile(join(LOCK_DIR, 'paths'), `${path}\n`);
}

/** Guards against pid reuse: only a `timeout --foreground` started by the tests is stopped. */
function isOurTimeoutWrapper(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv[0] === 'timeout' && argv[1] === '--foreground';
  } catch {
    return false;
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
  const isOurs = (line: string) => line.endsWith(HOSTS_MARKER);
  const withoutOurs = async () => {
    // Rewritten in place, not renamed: /etc/hosts is often a bind mount in containers.
    const text = await readFile(HOSTS_FILE, 'utf8');
    if (text.split('\n').some(isOurs)) await writeFile(HOSTS_FILE, text.split('\n').filter((l) => !isOurs(l)).join('\n'));
  };
  await withoutOurs(); // a line left by a killed run
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
  await writeFile(HOSTS_FILE, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${line}\n`);
  return withoutOurs;
}

/** Remembers which client directories do not exist yet; the returned function removes those. */
export async function trackClientGlobalPaths(): Promise<() => Promise<void>> {
  const absent: string[] = [];
  for (const path of CLIENT_GLOBAL_PATHS) {
    if (!(await exists(path))) {
      absent.push(path);
      await recordCreatedPath(path);
    }
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

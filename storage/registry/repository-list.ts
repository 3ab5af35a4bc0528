// The catalog: every repository, found the way registry:2 finds them (registry/storage/catalog.go)
// — a directory under `repositories/` that has a `_layers` folder, so a repository holding only
// blobs is listed too; folders starting with `_` are never names.
import type { StorageDriver } from '../driver/driver.js';
import { listNames } from './links.js';
import { REPOSITORIES } from './paths.js';

export async function listRepositories(driver: StorageDriver): Promise<string[]> {
  const found: string[] = [];
  await forEachRepositoryFolder(driver, (name, children) => {
    if (children.includes('_layers')) found.push(name);
  });
  return found; // the walk's order is compareNames order
}

/**
 * Repositories after `last` (all when undefined), in compareNames order, at most `limit`: one
 * directory at a time, depth first with each directory's entries in byte order (which is
 * exactly compareNames order, `/` sorting first), skipping folders that hold only names up to
 * `last` and stopping at `limit`. A page of the catalog costs about its size, not the registry's.
 */
export async function listRepositoriesAfter(driver: StorageDriver, last: string | undefined, limit: number): Promise<string[]> {
  const found: string[] = [];
  async function walk(prefix: string, dir: string): Promise<boolean> {
    const children = (await listNames(driver, dir)).sort();
    if (prefix !== '' && children.includes('_layers') && (last === undefined || compareNames(prefix, last) > 0)) {
      found.push(prefix);
      if (found.length >= limit) return true;
    }
    for (const child of children) {
      if (child.startsWith('_')) continue;
      const name = prefix === '' ? child : `${prefix}/${child}`;
      // Everything under `name` sorts before `last` unless `last` is itself under `name`.
      if (last !== undefined && compareNames(name, last) < 0 && !last.startsWith(`${name}/`)) continue;
      if (await walk(name, `${dir}/${child}`)) return true;
    }
    return false;
  }
  if (limit > 0) await walk('', REPOSITORIES);
  return found;
}

/** Folders listed ahead of the walk at each level: their reads overlap, memory stays a few listings. */
const READ_AHEAD = 8;

/**
 * Visits every folder under `repositories/` that could be a repository, with the names of its
 * children (`_layers`, `_manifests`, `_uploads`, nested names…), in compareNames order;
 * `_` folders are never descended. Depth first with a few listings read ahead, and at most
 * `concurrency` visits running at once (the walk waits for a free one): memory holds a few
 * folders' names whatever the number of repositories (a walk of 10,000 at once held ~35 MB).
 * The first visit that throws stops the walk; the visits already running finish, then it throws.
 */
export async function forEachRepositoryFolder(
  driver: StorageDriver,
  visit: (name: string, children: string[]) => Promise<void> | void,
  concurrency = 1,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const list = async (dir: string): Promise<string[]> => (await listNames(driver, dir)).sort();
  async function start(name: string, children: string[]): Promise<void> {
    while (running.size >= concurrency) await Promise.race(running);
    if (failure) throw failure.error;
    const visiting: Promise<void> = (async () => await visit(name, children))()
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => running.delete(visiting));
    running.add(visiting);
  }
  async function walk(prefix: string, dir: string, children: string[]): Promise<void> {
    if (prefix !== '') await start(prefix, children);
    const folders = children.filter((child) => !child.startsWith('_'));
    const ahead = new Map<number, Promise<string[]>>();
    const read = (i: number) => {
      if (i >= folders.length || ahead.has(i)) return;
      const listing = list(`${dir}/${folders[i]}`);
      listing.catch(() => undefined); // awaited below; a walk stopped earlier must not leave it unhandled
      ahead.set(i, listing);
    };
    for (let i = 0; i < folders.length; i++) {
      for (let j = i; j < i + READ_AHEAD; j++) read(j);
      const listing = ahead.get(i)!;
      ahead.delete(i);
      const child = folders[i]!;
      await walk(prefix === '' ? child : `${prefix}/${child}`, `${dir}/${child}`, await listing);
    }
  }
  try {
    await walk('', REPOSITORIES, await list(REPOSITORIES));
  } finally {
    await Promise.all(running);
  }
  if (failure) throw failure.error;
}

/**
 * registry:2's listing order (lessPath in registry/storage/catalog.go): byte order with `/`
 * before every other character, so `a/b/c` comes before `a-b`, and `last` means the same thing
 * to both programs. Tags have no `/`: for them this is plain byte order.
 */
export function compareNames(a: string, b: string): number {
  const x = a.replaceAll('/', '\u0000');
  const y = b.replaceAll('/', '\u0000');
  return x < y ? -1 : x > y ? 1 : 0;
}

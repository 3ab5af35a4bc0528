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
  return found.sort(compareNames);
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

/**
 * Visits every folder under `repositories/` that could be a repository, with the names of its
 * children (`_layers`, `_manifests`, `_uploads`, nested names…); `_` folders are never descended.
 */
export async function forEachRepositoryFolder(
  driver: StorageDriver,
  visit: (name: string, children: string[]) => Promise<void> | void,
): Promise<void> {
  async function walk(prefix: string, dir: string): Promise<void> {
    const children = await listNames(driver, dir);
    if (prefix !== '') await visit(prefix, children);
    await Promise.all(
      children
        .filter((child) => !child.startsWith('_'))
        .map((child) => walk(prefix === '' ? child : `${prefix}/${child}`, `${dir}/${child}`)),
    );
  }
  await walk('', REPOSITORIES);
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

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

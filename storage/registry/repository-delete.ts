// Deleting a whole repository (`DELETE /v2/_registry/repositories/<name>`, `registry repo delete`):
// its tags, manifest revisions, layer links, referrers index and upload sessions go; the blobs
// stay until a garbage collection finds nothing else references them. The repository then no
// longer appears in the catalog; a nested repository (`a/b` inside `a`) is untouched.
import { RegistryError } from '../../common/errors.js';
import { deleteIfPresent, listDigests, listNames } from './links.js';
import { paths } from './paths.js';
import type { Registry } from './registry.js';

export interface RepositoryDeleteResult {
  repository: string;
  manifestsDeleted: number;
  tagsDeleted: number;
}

/** NAME_UNKNOWN when `name` is not a repository (no `_layers` or `_manifests` folder). */
export async function deleteRepository(registry: Registry, name: string): Promise<RepositoryDeleteResult> {
  if (!(await registry.repositoryExists(name))) throw new RegistryError('NAME_UNKNOWN', undefined, { name });
  const manifestsDeleted = (await listDigests(registry.driver, paths.revisionsRoot(name))).length;
  const tagsDeleted = (await registry.tags.list(name)).length;
  // The referrers index first: a crash half-way leaves manifests without listings, never listings without manifests.
  await removeRepositoryFolders(registry, name, ['_referrers', '_manifests', '_layers', '_uploads']);
  return { repository: name, manifestsDeleted, tagsDeleted };
}

/**
 * Deletes a repository's own folders (`_`-prefixed: `_layers`, `_manifests`, `_referrers`,
 * `_uploads`), in `order` first, then the folder itself if nothing else (a nested repository) is in it.
 */
export async function removeRepositoryFolders(registry: Registry, name: string, order: string[] = []): Promise<void> {
  const driver = registry.driver;
  const root = paths.repository(name);
  const own = (await listNames(driver, root)).filter((child) => child.startsWith('_'));
  for (const child of [...order.filter((c) => own.includes(c)), ...own.filter((c) => !order.includes(c))]) {
    await deleteIfPresent(driver, `${root}/${child}`);
  }
  if ((await listNames(driver, root)).length === 0) await deleteIfPresent(driver, root);
}

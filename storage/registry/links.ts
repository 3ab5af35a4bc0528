// Link files: a small file holding a digest, the glue of registry:2's layout.
import { isDigest, parseDigest, type ParsedDigest } from '../../common/digest.js';
import { isPathNotFound, type StorageDriver } from '../driver/driver.js';

/** The digest a link file points to, or undefined when the link (or a parent) is missing. */
export async function readLink(driver: StorageDriver, path: string): Promise<ParsedDigest | undefined> {
  try {
    const text = (await driver.getContent(path)).toString('utf8').trim();
    return parseDigest(text);
  } catch (err) {
    if (isPathNotFound(err)) return undefined;
    throw err;
  }
}

export async function writeLink(driver: StorageDriver, path: string, digest: ParsedDigest): Promise<void> {
  await driver.putContent(path, Buffer.from(digest.digest, 'utf8'));
}

export async function linkExists(driver: StorageDriver, path: string): Promise<boolean> {
  return (await readLink(driver, path)) !== undefined;
}

/** Deletes a path, treating "already gone" as success. */
export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.delete(path);
    return true;
  } catch (err) {
    if (isPathNotFound(err)) return false;
    throw err;
  }
}

/** Children names (not paths) of a directory, or [] when it does not exist. */
export async function listNames(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    const children = await driver.list(path);
    return children.map((child) => child.slice(child.lastIndexOf('/') + 1));
  } catch (err) {
    if (isPathNotFound(err)) return [];
    throw err;
  }
}

/** The digests of a `<dir>/<algorithm>/<hex>` folder (revisions, referrers); stray entries are skipped. */
export async function listDigests(driver: StorageDriver, dir: string): Promise<ParsedDigest[]> {
  const found: ParsedDigest[] = [];
  for (const algorithm of await listNames(driver, dir)) {
    for (const hex of await listNames(driver, `${dir}/${algorithm}`)) {
      const digest = `${algorithm}:${hex}`;
      if (isDigest(digest)) found.push(parseDigest(digest));
    }
  }
  return found;
}

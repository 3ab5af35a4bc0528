// Tags: `_manifests/tags/<tag>/current/link` names the manifest, `index/` remembers every
// manifest the tag ever pointed to (registry:2 keeps it; its garbage collector reads it).
import type { ParsedDigest } from '../../common/digest.js';
import type { StorageDriver } from '../driver/driver.js';
import { mapBounded } from './bounded.js';
import { deleteIfPresent, listNames, readLink, writeLink } from './links.js';
import { paths } from './paths.js';

export class TagStore {
  constructor(private readonly driver: StorageDriver) {}

  async resolve(name: string, tag: string): Promise<ParsedDigest | undefined> {
    return await readLink(this.driver, paths.tagCurrentLink(name, tag));
  }

  async set(name: string, tag: string, digest: ParsedDigest): Promise<void> {
    await writeLink(this.driver, paths.tagIndexLink(name, tag, digest), digest);
    // The current link is written last: a reader sees the old or the new manifest, whole.
    await writeLink(this.driver, paths.tagCurrentLink(name, tag), digest);
  }

  async delete(name: string, tag: string): Promise<boolean> {
    return await deleteIfPresent(this.driver, paths.tagDir(name, tag));
  }

  /** Every tag of the repository, sorted. */
  async list(name: string): Promise<string[]> {
    return (await listNames(this.driver, paths.tagsRoot(name))).sort();
  }

  /** Tags whose current link points to `digest`. */
  async pointingTo(name: string, digest: ParsedDigest): Promise<string[]> {
    const tags = await this.list(name);
    const targets = await mapBounded(tags, 16, (tag) => this.resolve(name, tag));
    return tags.filter((_, i) => targets[i]?.digest === digest.digest);
  }
}

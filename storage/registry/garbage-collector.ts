// Garbage collection, as registry:2's `garbage-collect`: mark every blob a manifest revision of
// any repository references (its own bytes, config, layers; an index's child manifests are
// revisions themselves), optionally remove manifests no tag points to first, then delete every
// blob nobody marked. Run it while nothing pushes (registry stopped or read-only): an upload
// that completes during the sweep could lose a blob its manifest is about to reference.
import { parseDigest, type ParsedDigest } from '../../common/digest.js';
import type { Logger } from '../../common/logger.js';
import { deleteIfPresent, listDigests, listNames } from './links.js';
import { parseManifest } from './manifest-parser.js';
import { paths } from './paths.js';
import type { Registry } from './registry.js';

export interface GcOptions {
  dryRun: boolean;
  /** Delete manifest revisions that no tag points to (registry:2's --delete-untagged). */
  deleteUntagged: boolean;
}

export interface GcReport {
  repositories: number;
  manifestsKept: number;
  manifestsDeleted: string[];
  blobsKept: number;
  blobsDeleted: string[];
  bytesFreed: number;
}

export async function collectGarbage(registry: Registry, options: GcOptions, logger: Logger): Promise<GcReport> {
  const driver = registry.driver;
  const marked = new Set<string>();
  const report: GcReport = { repositories: 0, manifestsKept: 0, manifestsDeleted: [], blobsKept: 0, blobsDeleted: [], bytesFreed: 0 };

  for (const name of await registry.repositories()) {
    report.repositories++;
    const revisions = await listDigests(driver, paths.revisionsRoot(name));
    let keep = revisions;
    if (options.deleteUntagged) {
      const tagged = await taggedClosure(registry, name);
      keep = revisions.filter((d) => tagged.has(d.digest));
      for (const digest of revisions.filter((d) => !tagged.has(d.digest))) {
        report.manifestsDeleted.push(`${name}@${digest.digest}`);
        logger.info({ repository: name, digest: digest.digest, dryRun: options.dryRun }, 'gc: untagged manifest');
        if (!options.dryRun) await registry.manifests.delete(name, digest);
      }
    }
    for (const digest of keep) {
      report.manifestsKept++;
      marked.add(digest.digest);
      for (const reference of await referencesOf(registry, digest)) marked.add(reference.digest);
    }
  }

  for (const algorithm of await listNames(driver, paths.blobsRoot())) {
    for (const prefix of await listNames(driver, `${paths.blobsRoot()}/${algorithm}`)) {
      for (const hex of await listNames(driver, `${paths.blobsRoot()}/${algorithm}/${prefix}`)) {
        const digest = `${algorithm}:${hex}`;
        if (marked.has(digest)) {
          report.blobsKept++;
          continue;
        }
        let parsed: ParsedDigest;
        try {
          parsed = parseDigest(digest);
        } catch {
          continue; // not a blob folder this registry wrote: leave it alone
        }
        const size = (await registry.blobs.size(parsed)) ?? 0;
        report.blobsDeleted.push(digest);
        report.bytesFreed += size;
        logger.info({ digest, size, dryRun: options.dryRun }, 'gc: unreferenced blob');
        if (!options.dryRun) await deleteIfPresent(driver, paths.blobDir(parsed));
      }
    }
  }
  return report;
}

/** Digests of everything a manifest needs: config and layers, or child manifests. */
async function referencesOf(registry: Registry, digest: ParsedDigest): Promise<ParsedDigest[]> {
  const content = await registry.blobs.read(digest);
  if (!content) return [];
  try {
    const parsed = parseManifest(content, undefined);
    return [...parsed.blobs, ...parsed.manifests];
  } catch {
    return []; // not a manifest we can read: keep its own bytes, mark nothing else
  }
}

/** Manifests reachable from a tag: the tagged ones and, for indexes, their children. */
async function taggedClosure(registry: Registry, name: string): Promise<Set<string>> {
  const reachable = new Set<string>();
  const pending: ParsedDigest[] = [];
  for (const tag of await registry.tags.list(name)) {
    const digest = await registry.tags.resolve(name, tag);
    if (digest) pending.push(digest);
  }
  while (pending.length > 0) {
    const digest = pending.pop()!;
    if (reachable.has(digest.digest)) continue;
    reachable.add(digest.digest);
    const content = await registry.blobs.read(digest);
    if (!content) continue;
    try {
      pending.push(...parseManifest(content, undefined).manifests);
    } catch {
      // unreadable: nothing below it
    }
  }
  return reachable;
}

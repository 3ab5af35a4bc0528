// Garbage collection, online: mark what every repository still needs, then sweep the rest, while
// storage serves pushes and pulls (docs/garbage-collection.md has the design and why it cannot
// race a push).
//
// Mark (reads only; nothing is deleted if it fails): for each repository, every manifest
// revision is read and parsed (OCI and docker v2 manifests and indexes, docker schema 1
// `fsLayers`, `subject`); a manifest that cannot be read or parsed stops the collection before
// anything is deleted, and the error names it. Retention rules and --delete-untagged decide
// which tags and untagged manifests go; what a kept manifest reaches (index children) and the
// manifests whose `subject` is kept (signatures, SBOMs) are kept; the blobs of every kept
// manifest are marked. Memory: one set of marked digests (32 bytes each for sha256) plus the
// manifests of the few repositories being marked; repositories are marked as a walk finds them.
//
// Sweep: planned tags and manifests, then every blob not marked, not used by a write since the
// collection began (GcGate) and older than the grace period; repositories left with nothing are
// removed so the catalog forgets them.
import { parseDigest, type ParsedDigest } from '../../common/digest.js';
import type { RetentionRule } from '../../common/config/types.js';
import type { Logger } from '../../common/logger.js';
import { compileRepositoryGlob } from '../../gateway/access/repository-glob.js';
import { isPathNotFound } from '../driver/driver.js';
import { repositoryKey, tagKey } from './gc-gate.js';
import { deleteIfPresent, listDigests, listNames, readLink } from './links.js';
import { parseManifest } from './manifest-parser.js';
import { paths } from './paths.js';
import type { Registry } from './registry.js';
import { removeRepositoryFolders } from './repository-delete.js';
import { forEachRepositoryFolder } from './repository-list.js';

export interface GcOptions {
  /** Report what would be deleted, delete nothing. */
  dryRun: boolean;
  /** Delete manifests that no tag reaches (registry:2's --delete-untagged), older than the grace period. */
  deleteUntagged: boolean;
  /** Blobs, untagged manifests and layer links younger than this are kept (a margin; GcGate is the mechanism). */
  gracePeriodMs: number;
  /** storage.maintenance.retention: the first rule whose glob matches a repository applies to it. */
  retention?: RetentionRule[];
  /** The clock (tests). */
  now?: () => number;
}

/** What one collection did (or, in a dry run, would do). Plain data: log it, print it, export it as metrics. */
export interface GcReport {
  dryRun: boolean;
  startedAt: string;
  repositories: number;
  manifestsKept: number;
  /** `name@digest` of each manifest deleted (untagged, or by a retention rule). */
  manifestsDeleted: string[];
  /** `name:tag` of each tag a retention rule deleted. */
  tagsDeleted: string[];
  blobsKept: number;
  /** Digests of the blobs deleted. */
  blobsDeleted: string[];
  bytesReclaimed: number;
  /** Repositories left with no manifest and removed (gone from the catalog). */
  repositoriesRemoved: string[];
  /** Unmarked blobs kept because they are younger than the grace period or a write used them during the run. */
  blobsSpared: number;
  markMs: number;
  sweepMs: number;
}

/** A manifest the mark could not read or parse: the collection stopped and deleted nothing. */
export interface GcProblem {
  repository: string;
  digest: string;
  reason: string;
}

export class GcAbortedError extends Error {
  constructor(readonly problems: GcProblem[]) {
    super(
      `garbage collection stopped, nothing was deleted: ${problems.length} manifest(s) cannot be read or parsed: ` +
        problems
          .slice(0, 10)
          .map((p) => `${p.repository}@${p.digest} (${p.reason})`)
          .join('; '),
    );
    this.name = 'GcAbortedError';
  }
}

const MARK_CONCURRENCY = 8;

type GcListener = (report: GcReport) => void;
const listeners = new Set<GcListener>();

/** Calls `listener` with the report of every finished collection (metrics); returns the unsubscribe. */
export function onGcRun(listener: GcListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

interface RepositoryPlan {
  name: string;
  /** Tags a retention rule deletes, with the digest they pointed to when planned. */
  tags: Array<{ tag: string; digest: string }>;
  manifests: ParsedDigest[];
  /** Whether nothing (no tag, no manifest) is left once the plan is carried out. */
  empty: boolean;
}

interface CompiledRule {
  matches: (name: string) => boolean;
  rule: RetentionRule;
}

/** One collection: one at a time per Registry (a second waits for the first). */
export async function collectGarbage(registry: Registry, options: GcOptions, logger: Logger): Promise<GcReport> {
  return await registry.gate.exclusive(() => collect(registry, options, logger));
}

async function collect(registry: Registry, options: GcOptions, logger: Logger): Promise<GcReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const report: GcReport = {
    dryRun: options.dryRun,
    startedAt: new Date(started).toISOString(),
    repositories: 0,
    manifestsKept: 0,
    manifestsDeleted: [],
    tagsDeleted: [],
    blobsKept: 0,
    blobsDeleted: [],
    bytesReclaimed: 0,
    repositoriesRemoved: [],
    blobsSpared: 0,
    markMs: 0,
    sweepMs: 0,
  };
  const rules: CompiledRule[] = (options.retention ?? []).map((rule) => {
    const glob = compileRepositoryGlob(rule.repositories);
    return { rule, matches: (name) => glob.matches(name, undefined) };
  });
  const youngerThan = started - options.gracePeriodMs;

  // Mark.
  const marked = new DigestSet();
  const plans: RepositoryPlan[] = [];
  const problems: GcProblem[] = [];
  // Every folder with manifests or layer links (the catalog lists only those with `_layers`),
  // marked as the walk finds it, a few at a time: file I/O waits overlap, and memory holds a few
  // repositories' manifests, never the list of every repository.
  await forEachRepositoryFolder(
    registry.driver,
    async (name, children) => {
      if (!children.includes('_layers') && !children.includes('_manifests')) return;
      report.repositories++;
      const plan = await markRepository(registry, name, {
        marked,
        problems,
        rule: rules.find((r) => r.matches(name))?.rule,
        deleteUntagged: options.deleteUntagged,
        now: started,
        youngerThan,
      });
      report.manifestsKept += plan.kept;
      if (plan.tags.length > 0 || plan.manifests.length > 0 || plan.empty) plans.push(plan);
    },
    MARK_CONCURRENCY,
  );
  if (problems.length > 0) {
    const error = new GcAbortedError(problems);
    logger.error({ problems: problems.slice(0, 100) }, error.message);
    throw error;
  }
  const markEnd = now();
  report.markMs = markEnd - started;

  // Sweep: tags and manifests, then blobs, then emptied repositories.
  const gate = registry.gate;
  for (const plan of plans) {
    for (const { tag, digest } of plan.tags) {
      const deleted =
        options.dryRun ||
        (await gate.deleteUnlessUsed(tagKey(plan.name, tag), async () => {
          // Only if the tag still points where it did when planned.
          if ((await registry.tags.resolve(plan.name, tag))?.digest === digest) await registry.tags.delete(plan.name, tag);
          else throw new TagMoved();
        }).catch(ignoreTagMoved));
      if (deleted) {
        report.tagsDeleted.push(`${plan.name}:${tag}`);
        logger.debug({ repository: plan.name, tag, dryRun: options.dryRun }, 'gc: tag deleted by retention');
      }
    }
    for (const digest of plan.manifests) {
      const deleted =
        options.dryRun ||
        (await gate.deleteUnlessUsed(digest.digest, async () => {
          await registry.manifests.delete(plan.name, digest).catch((err: unknown) => {
            if (!(err instanceof Error && 'code' in err && err.code === 'MANIFEST_UNKNOWN')) throw err;
          });
        }));
      if (deleted) {
        report.manifestsDeleted.push(`${plan.name}@${digest.digest}`);
        logger.debug({ repository: plan.name, digest: digest.digest, dryRun: options.dryRun }, 'gc: manifest deleted');
      } else {
        // Used by a push during the run: its blobs stay too.
        for (const reference of (await referencesOf(registry, digest)) ?? []) marked.add(reference);
      }
    }
  }
  await sweepBlobs(registry, marked, youngerThan, options.dryRun, report, logger);
  for (const plan of plans) {
    if (plan.empty && (await removeRepository(registry, plan.name, youngerThan, options.dryRun))) {
      report.repositoriesRemoved.push(plan.name);
      logger.debug({ repository: plan.name, dryRun: options.dryRun }, 'gc: empty repository removed');
    }
  }
  report.sweepMs = now() - markEnd;
  logger.info(
    {
      dryRun: report.dryRun,
      repositories: report.repositories,
      manifestsKept: report.manifestsKept,
      manifestsDeleted: report.manifestsDeleted.length,
      tagsDeleted: report.tagsDeleted.length,
      blobsKept: report.blobsKept,
      blobsDeleted: report.blobsDeleted.length,
      blobsSpared: report.blobsSpared,
      bytesReclaimed: report.bytesReclaimed,
      repositoriesRemoved: report.repositoriesRemoved.length,
      markMs: report.markMs,
      sweepMs: report.sweepMs,
    },
    'gc: collection finished',
  );
  for (const listener of listeners) {
    try {
      listener(report);
    } catch (err) {
      logger.warn({ err }, 'gc: a report listener failed');
    }
  }
  return report;
}

/**
 * The marked digests. A sha256 digest is kept as its 32 bytes (a one-byte string), not its
 * 71 characters: ~70 instead of ~130 bytes an entry, which is most of the mark's memory at
 * hundreds of thousands of blobs. Other digests are kept as they are.
 */
class DigestSet {
  private readonly keys = new Set<string>();

  add(digest: string): void {
    this.keys.add(digestKey(digest));
  }

  has(digest: string): boolean {
    return this.keys.has(digestKey(digest));
  }
}

const SHA256 = /^sha256:([0-9a-f]{64})$/;
function digestKey(digest: string): string {
  const hex = SHA256.exec(digest)?.[1];
  // 32 characters: never equal to a digest kept whole, which is longer.
  return hex === undefined ? digest : Buffer.from(hex, 'hex').toString('latin1');
}

class TagMoved extends Error {}
function ignoreTagMoved(err: unknown): boolean {
  if (err instanceof TagMoved) return false;
  throw err;
}

interface MarkContext {
  marked: DigestSet;
  problems: GcProblem[];
  rule: RetentionRule | undefined;
  deleteUntagged: boolean;
  now: number;
  youngerThan: number;
}

async function markRepository(registry: Registry, name: string, ctx: MarkContext): Promise<RepositoryPlan & { kept: number }> {
  const driver = registry.driver;
  const revisions = await listDigests(driver, paths.revisionsRoot(name));
  // Each revision's references, read once: [blobs, child manifests, subject].
  const manifests = new Map<string, { digest: ParsedDigest; blobs: string[]; children: string[]; subject?: string }>();
  for (const digest of revisions) {
    const content = await registry.blobs.read(digest);
    if (content === undefined) {
      ctx.problems.push({ repository: name, digest: digest.digest, reason: 'the revision link names a blob that does not exist' });
      continue;
    }
    try {
      manifests.set(digest.digest, { digest, ...storedReferences(content) });
    } catch (err) {
      ctx.problems.push({ repository: name, digest: digest.digest, reason: (err as Error).message });
    }
  }

  // Tags, and which of them a retention rule deletes (the most recently pushed N and those
  // matching the expression stay).
  const rule = ctx.rule;
  const byTagRule = rule !== undefined && (rule.keeptags !== undefined || rule.keeptagsmatching !== undefined);
  const tags: Array<{ tag: string; digest: string; pushed: number }> = [];
  for (const tag of await registry.tags.list(name)) {
    let digest: ParsedDigest | undefined;
    try {
      digest = await readLink(driver, paths.tagCurrentLink(name, tag));
    } catch (err) {
      // What an unreadable tag protects is unknown: stop, as for a manifest.
      ctx.problems.push({ repository: name, digest: `tag ${tag}`, reason: `the tag link cannot be read: ${(err as Error).message}` });
      continue;
    }
    if (!digest) continue;
    // When it was pushed matters only to a rule keeping the newest tags (a stat per tag).
    tags.push({ tag, digest: digest.digest, pushed: byTagRule ? await modTime(registry, paths.tagCurrentLink(name, tag)) : 0 });
  }
  const deletedTags: Array<{ tag: string; digest: string }> = [];
  if (rule && byTagRule) {
    const matching = rule.keeptagsmatching !== undefined ? new RegExp(rule.keeptagsmatching) : undefined;
    const newestFirst = [...tags].sort((a, b) => b.pushed - a.pushed || (a.tag < b.tag ? -1 : 1));
    const keepNewest = rule.keeptags ?? 0;
    newestFirst.forEach((entry, i) => {
      const keep = i < keepNewest || (matching?.test(entry.tag) ?? false) || entry.pushed > ctx.youngerThan;
      if (!keep) deletedTags.push({ tag: entry.tag, digest: entry.digest });
    });
  }
  const deleted = new Set(deletedTags.map((t) => t.tag));

  // Kept: what a remaining tag reaches; then referrers of kept manifests, to a fixed point.
  const kept = new Set<string>();
  const keep = (digest: string) => {
    const pending = [digest];
    while (pending.length > 0) {
      const d = pending.pop()!;
      if (kept.has(d)) continue;
      kept.add(d);
      pending.push(...(manifests.get(d)?.children ?? []));
    }
  };
  for (const { tag, digest } of tags) if (!deleted.has(tag)) keep(digest);

  const untaggedAfter = ctx.deleteUntagged ? 0 : rule?.deleteuntaggedafterMs;
  const mayDelete = async (digest: ParsedDigest): Promise<boolean> => {
    if (untaggedAfter === undefined) return false;
    const age = ctx.now - (await modTime(registry, paths.revisionLink(name, digest)));
    return age >= untaggedAfter && age >= ctx.now - ctx.youngerThan;
  };
  const candidates: ParsedDigest[] = [];
  for (const entry of manifests.values()) {
    if (!kept.has(entry.digest.digest) && !(await mayDelete(entry.digest))) keep(entry.digest.digest);
  }
  // Revisions that could not be read are kept as they are (the run stops anyway).
  for (let changed = true; changed; ) {
    changed = false;
    for (const entry of manifests.values()) {
      if (!kept.has(entry.digest.digest) && entry.subject !== undefined && kept.has(entry.subject)) {
        keep(entry.digest.digest);
        changed = true;
      }
    }
  }
  for (const entry of manifests.values()) {
    if (kept.has(entry.digest.digest)) {
      ctx.marked.add(entry.digest.digest);
      for (const blob of entry.blobs) ctx.marked.add(blob);
    } else {
      candidates.push(entry.digest);
    }
  }
  const tagsLeft = tags.length - deletedTags.length;
  return {
    name,
    tags: deletedTags,
    manifests: candidates,
    empty: tagsLeft === 0 && candidates.length === revisions.length && ctx.problems.length === 0,
    kept: kept.size,
  };
}

/**
 * What a stored manifest references: its blobs (config, layers; schema 1 `fsLayers`), its child
 * manifests (index entries) and its subject. Throws when it cannot be parsed: the caller stops.
 */
export function storedReferences(content: Buffer): { blobs: string[]; children: string[]; subject?: string } {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    throw new Error('not valid JSON');
  }
  if (typeof json === 'object' && json !== null && (json as { schemaVersion?: unknown }).schemaVersion === 1) {
    const fsLayers = (json as { fsLayers?: unknown }).fsLayers;
    if (!Array.isArray(fsLayers)) throw new Error('docker schema 1 manifest without fsLayers');
    const blobs = fsLayers.map((layer: unknown, i) => {
      const sum = (layer as { blobSum?: unknown } | null)?.blobSum;
      if (typeof sum !== 'string') throw new Error(`fsLayers[${i}].blobSum is not a digest`);
      return parseDigest(sum).digest;
    });
    return { blobs, children: [] };
  }
  const parsed = parseManifest(content, undefined);
  const references: { blobs: string[]; children: string[]; subject?: string } = {
    blobs: parsed.blobs.map((d) => d.digest),
    children: parsed.manifests.map((d) => d.digest),
  };
  if (parsed.subject) references.subject = parsed.subject.digest;
  return references;
}

async function referencesOf(registry: Registry, digest: ParsedDigest): Promise<string[] | undefined> {
  const content = await registry.blobs.read(digest);
  if (!content) return undefined;
  try {
    const { blobs, children } = storedReferences(content);
    return [digest.digest, ...blobs, ...children];
  } catch {
    return undefined;
  }
}

async function modTime(registry: Registry, path: string): Promise<number> {
  try {
    return (await registry.driver.stat(path)).modTime.getTime();
  } catch (err) {
    if (isPathNotFound(err)) return Date.now();
    throw err;
  }
}

async function sweepBlobs(
  registry: Registry,
  marked: DigestSet,
  youngerThan: number,
  dryRun: boolean,
  report: GcReport,
  logger: Logger,
): Promise<void> {
  const driver = registry.driver;
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
        let size: number;
        try {
          const info = await driver.stat(paths.blobData(parsed));
          size = info.size;
          if (info.modTime.getTime() > youngerThan) {
            report.blobsSpared++;
            continue;
          }
        } catch (err) {
          if (isPathNotFound(err)) continue;
          throw err;
        }
        const deleted =
          !registry.gate.wasUsed(digest) &&
          (dryRun || (await registry.gate.deleteUnlessUsed(digest, async () => void (await deleteIfPresent(driver, paths.blobDir(parsed))))));
        if (!deleted) {
          report.blobsSpared++;
          continue;
        }
        report.blobsDeleted.push(digest);
        report.bytesReclaimed += size;
        logger.debug({ digest, size, dryRun }, 'gc: unreferenced blob deleted');
      }
    }
  }
}

/**
 * Removes a repository the plan left empty, unless something arrived meanwhile: a tag, a
 * manifest, an upload session, a layer link younger than the grace period, or a write since the
 * collection began. Only its own `_` folders go: a nested repository (`a/b` inside `a`) stays.
 */
async function removeRepository(registry: Registry, name: string, youngerThan: number, dryRun: boolean): Promise<boolean> {
  const driver = registry.driver;
  const busy = async (): Promise<boolean> => {
    if ((await registry.tags.list(name)).length > 0) return true;
    if ((await listDigests(driver, paths.revisionsRoot(name))).length > 0) return true;
    if ((await listNames(driver, paths.uploadsRoot(name))).length > 0) return true;
    for (const layer of await listDigests(driver, paths.layersRoot(name))) {
      if ((await modTime(registry, paths.layerLink(name, layer))) > youngerThan) return true;
    }
    return false;
  };
  if (await busy()) return false;
  if (dryRun) return true;
  return await registry.gate.deleteUnlessUsed(repositoryKey(name), async () => {
    if (await busy()) throw new RepositoryInUse();
    await removeRepositoryFolders(registry, name);
  }).catch((err: unknown) => {
    if (err instanceof RepositoryInUse) return false;
    throw err;
  });
}

class RepositoryInUse extends Error {}

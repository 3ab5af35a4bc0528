// What the web UI shows beyond the OCI API, read from the same layout: per repository its tag
// count, size and last push; per tag its digest, size, creation date, platforms and push time.
// A manifest's facts (its blobs and their sizes, platforms, creation date) never change for a
// digest, so they are kept in a bounded cache; tag links are always read (a push moves a tag).
// "Last push" is when a tag's current link was last written; "size" is the sum of the distinct
// blobs (configs and layers, of every platform of an index) the tags reference.
import { LRUCache } from 'lru-cache';
import { isDigest, parseDigest, type ParsedDigest } from '../../common/digest.js';
import type { RepositorySummary, TagSummary } from '../../common/ui-types.js';
import { isPathNotFound, type StorageDriver } from '../driver/driver.js';
import type { BlobStore } from './blob-store.js';
import { mapBounded } from './bounded.js';
import type { ManifestStore } from './manifest-store.js';
import { paths } from './paths.js';
import type { TagStore } from './tag-store.js';

export type { RepositorySummary, TagSummary };

interface ManifestFacts {
  mediaType: string;
  blobs: Map<string, number>;
  platforms?: string[];
  created?: string;
  platform?: string;
  artifactType?: string;
}

/** Tags and manifests looked at at once per request. */
const AT_ONCE = 16;
/** An index's images read for its facts; more are left out of size and dates. */
const MAX_INDEX_CHILDREN = 64;
/** Image configs larger than this are not read for their creation date. */
const MAX_CONFIG_BYTES = 256 * 1024;
const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
  annotations?: Record<string, unknown>;
}

/** How long the summaries of every repository are reused when this process wrote nothing meanwhile. */
export const SUMMARY_TTL_MS = 15_000;
/** Past this many repositories, summaries are computed per page instead of all at once and kept. */
export const MAX_CACHED_REPOSITORIES = 10_000;

export class RepositorySummaries {
  // Bounded by the blobs the entries name (a manifest may list 10,000 layers), not by entries.
  private readonly facts = new LRUCache<string, ManifestFacts>({ maxSize: 1_000_000, sizeCalculation: (facts) => facts.blobs.size + 1 });
  private generation = 0;
  private everything?: { generation: number; at: number; summaries: Promise<RepositorySummary[] | undefined> };

  constructor(
    private readonly driver: StorageDriver,
    private readonly manifests: ManifestStore,
    private readonly blobs: BlobStore,
    private readonly tags: TagStore,
  ) {}

  /**
   * Something was written through this process (storage/app.ts calls it after every successful
   * write): the next listing reads the disk again. Writes by another process (a replica, the
   * CLI's garbage collector) show within SUMMARY_TTL_MS.
   */
  invalidate(): void {
    this.generation++;
  }

  /**
   * The summaries of every repository (in `names`' order), reused while nothing was written and
   * for at most SUMMARY_TTL_MS; undefined for a registry too big to keep them all (then the
   * caller summarises one page at a time). Concurrent callers share one computation.
   */
  async all(names: () => Promise<string[]>, now = Date.now()): Promise<RepositorySummary[] | undefined> {
    const cached = this.everything;
    if (cached && cached.generation === this.generation) {
      // Older than the TTL: answered as it is while a fresh one is read (stale while
      // revalidate): only writes by another process can be missing from it, for one more read.
      if (now - cached.at >= SUMMARY_TTL_MS && !this.refreshing) {
        this.refreshing = true;
        const next = this.read(names, now);
        next.summaries
          .then(
            () => {
              if (this.everything === cached) this.everything = next;
            },
            () => undefined,
          )
          .finally(() => (this.refreshing = false));
      }
      return await cached.summaries;
    }
    const entry = this.read(names, now);
    this.everything = entry;
    try {
      return await entry.summaries;
    } catch (error) {
      if (this.everything === entry) this.everything = undefined;
      throw error;
    }
  }

  private refreshing = false;

  private read(names: () => Promise<string[]>, now: number): { generation: number; at: number; summaries: Promise<RepositorySummary[] | undefined> } {
    const summaries = (async () => {
      const all = await names();
      if (all.length > MAX_CACHED_REPOSITORIES) return undefined;
      return await mapBounded(all, 32, (name) => this.summary(name));
    })();
    return { generation: this.generation, at: now, summaries };
  }

  async summary(name: string): Promise<RepositorySummary> {
    const tags = await this.tags.list(name);
    const read = await mapBounded(tags, AT_ONCE, (tag) => this.tagState(name, tag));
    const blobs = new Map<string, number>();
    let lastPush: number | undefined;
    for (const state of read) {
      if (!state) continue;
      if (state.pushed !== undefined && (lastPush === undefined || state.pushed > lastPush)) lastPush = state.pushed;
      for (const [digest, size] of state.facts?.blobs ?? []) blobs.set(digest, size);
    }
    const summary: RepositorySummary = { name, tags: tags.length, size: sum(blobs) };
    if (lastPush !== undefined) summary.lastPush = new Date(lastPush).toISOString();
    return summary;
  }

  /** The given tags of a repository (those still there), in order. */
  async tagSummaries(name: string, tags: string[]): Promise<TagSummary[]> {
    const read = await mapBounded(tags, AT_ONCE, async (tag): Promise<TagSummary | undefined> => {
      const state = await this.tagState(name, tag);
      if (!state) return undefined;
      const { digest, facts, pushed } = state;
      const summary: TagSummary = { tag, digest: digest.digest, mediaType: facts?.mediaType ?? '', size: facts ? sum(facts.blobs) : 0 };
      if (pushed !== undefined) summary.pushed = new Date(pushed).toISOString();
      if (facts?.created) summary.created = facts.created;
      if (facts?.platforms) summary.platforms = facts.platforms;
      else if (facts?.platform) summary.platforms = [facts.platform];
      if (facts?.artifactType) summary.artifactType = facts.artifactType;
      return summary;
    });
    return read.filter((summary): summary is TagSummary => summary !== undefined);
  }

  private async tagState(name: string, tag: string): Promise<{ digest: ParsedDigest; pushed?: number; facts?: ManifestFacts } | undefined> {
    const link = paths.tagCurrentLink(name, tag);
    let digest: ParsedDigest | undefined;
    let pushed: number | undefined;
    try {
      const [content, info] = await Promise.all([this.driver.getContent(link), this.driver.stat(link)]);
      const text = content.toString('utf8').trim();
      if (!isDigest(text)) return undefined;
      digest = parseDigest(text);
      pushed = info.modTime.getTime();
    } catch (error) {
      if (isPathNotFound(error)) return undefined; // deleted meanwhile
      throw error;
    }
    return { digest, pushed, facts: await this.factsOf(name, digest, 0) };
  }

  private async factsOf(name: string, digest: ParsedDigest, depth: number): Promise<ManifestFacts | undefined> {
    const cached = this.facts.get(digest.digest);
    if (cached) return cached;
    let manifest;
    try {
      manifest = await this.manifests.get(name, digest.digest);
    } catch {
      return undefined; // a tag to a manifest that is gone or unreadable: shown without facts
    }
    let body: { manifests?: unknown; config?: Descriptor; layers?: unknown; artifactType?: unknown; blobs?: unknown };
    try {
      body = JSON.parse(manifest.content.toString('utf8')) as typeof body;
    } catch {
      return undefined;
    }
    const facts: ManifestFacts = { mediaType: manifest.mediaType, blobs: new Map() };
    if (typeof body.artifactType === 'string') facts.artifactType = body.artifactType;
    if (Array.isArray(body.manifests)) {
      const children = (body.manifests as Descriptor[]).filter((d) => typeof d.digest === 'string' && isDigest(d.digest)).slice(0, MAX_INDEX_CHILDREN);
      const platforms: string[] = [];
      for (const child of children) {
        const platform = platformOf(child);
        if (platform && !isAttestation(child)) platforms.push(platform);
      }
      if (depth === 0) {
        const childFacts = await mapBounded(children, AT_ONCE, (child) => this.factsOf(name, parseDigest(child.digest as string), depth + 1));
        for (const child of childFacts) {
          if (!child) continue;
          for (const [blob, size] of child.blobs) facts.blobs.set(blob, size);
          if (child.created && (!facts.created || child.created > facts.created)) facts.created = child.created;
        }
      }
      facts.platforms = platforms;
    } else {
      const config = body.config;
      const layers = Array.isArray(body.layers) ? (body.layers as Descriptor[]) : Array.isArray(body.blobs) ? (body.blobs as Descriptor[]) : [];
      for (const descriptor of config ? [config, ...layers] : layers) {
        if (typeof descriptor.digest === 'string' && typeof descriptor.size === 'number') facts.blobs.set(descriptor.digest, descriptor.size);
      }
      if (config && typeof config.mediaType === 'string') {
        if (IMAGE_CONFIG_TYPES.has(config.mediaType)) {
          const image = await this.imageConfig(config);
          if (image.created) facts.created = image.created;
          if (image.platform) facts.platform = image.platform;
        } else if (!facts.artifactType && config.mediaType !== 'application/vnd.oci.empty.v1+json') {
          facts.artifactType = config.mediaType;
        }
      }
    }
    this.facts.set(digest.digest, facts);
    return facts;
  }

  private async imageConfig(config: Descriptor): Promise<{ created?: string; platform?: string }> {
    if (typeof config.digest !== 'string' || !isDigest(config.digest) || typeof config.size !== 'number' || config.size > MAX_CONFIG_BYTES) return {};
    const content = await this.blobs.read(parseDigest(config.digest));
    if (!content || content.length > MAX_CONFIG_BYTES) return {};
    try {
      const parsed = JSON.parse(content.toString('utf8')) as { created?: unknown; os?: unknown; architecture?: unknown; variant?: unknown };
      const result: { created?: string; platform?: string } = {};
      if (typeof parsed.created === 'string' && !Number.isNaN(Date.parse(parsed.created))) result.created = new Date(parsed.created).toISOString();
      const platform = platformOf({ platform: parsed });
      if (platform) result.platform = platform;
      return result;
    } catch {
      return {};
    }
  }
}

function platformOf(descriptor: Descriptor): string | undefined {
  const { os, architecture, variant } = descriptor.platform ?? {};
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') return undefined;
  return [os, architecture, ...(typeof variant === 'string' && variant !== '' ? [variant] : [])].join('/');
}

/** buildx's provenance/SBOM entries: `unknown/unknown` with a reference-type annotation. */
function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || platformOf(descriptor) === 'unknown/unknown';
}

function sum(blobs: Map<string, number>): number {
  let total = 0;
  for (const size of blobs.values()) total += size;
  return total;
}

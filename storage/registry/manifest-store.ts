// Manifests: stored byte for byte as blobs, linked into the repository as revisions, named by
// tags, indexed by subject for the referrers API. Content is immutable per digest, so a bounded
// in-memory cache serves hot manifests without touching storage; links are always read.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isDigest, parseDigest, type ParsedDigest } from '../../common/digest.js';
import { RegistryError } from '../../common/errors.js';
import { assertTag, isValidTag } from '../../common/names.js';
import type { StorageDriver } from '../driver/driver.js';
import type { BlobStore } from './blob-store.js';
import { mapBounded } from './bounded.js';
import { deleteIfPresent, linkExists, writeLink } from './links.js';
import { GcGate, repositoryKey, tagKey } from './gc-gate.js';
import { MAX_MANIFEST_BYTES, mediaTypeOf, parseManifest, type Descriptor, type ParsedManifest } from './manifest-parser.js';
import { paths } from './paths.js';
import type { ReferrerStore } from './referrer-store.js';
import type { TagStore } from './tag-store.js';

export interface StoredManifest {
  digest: ParsedDigest;
  mediaType: string;
  content: Buffer;
}

export interface PutResult {
  digest: ParsedDigest;
  mediaType: string;
  subject?: ParsedDigest;
}

const CACHE_BYTES = 64 * 1024 * 1024;
const REFERENCE_CHECKS_AT_ONCE = 16;

function distinct(digests: ParsedDigest[]): ParsedDigest[] {
  const seen = new Map<string, ParsedDigest>();
  for (const d of digests) if (!seen.has(d.digest)) seen.set(d.digest, d);
  return [...seen.values()];
}

export class ManifestStore {
  private readonly cache = new LRUCache<string, { mediaType: string; content: Buffer }>({
    maxSize: CACHE_BYTES,
    sizeCalculation: (entry) => entry.content.length + 128,
  });

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly tags: TagStore,
    private readonly referrers: ReferrerStore,
    private readonly gate = new GcGate(),
  ) {}

  /**
   * Resolves a tag or digest to the manifest; MANIFEST_UNKNOWN when absent from the repository.
   * A reference that is neither a valid tag nor a valid digest names no manifest: 404 as well
   * (what the OCI conformance tests and registry:2 answer), unlike a PUT with it (400).
   */
  async get(name: string, reference: string): Promise<StoredManifest> {
    // Made only when thrown: capturing a stack cost ~3% of storage's CPU on manifest GETs.
    const unknown = () => new RegistryError('MANIFEST_UNKNOWN', undefined, { name, reference });
    if (!isValidTag(reference) && !isDigest(reference)) throw unknown();
    const digest = await this.resolve(name, reference);
    if (!digest || !(await linkExists(this.driver, paths.revisionLink(name, digest)))) throw unknown();
    const cached = this.cache.get(digest.digest);
    if (cached) return { digest, ...cached };
    const content = await this.blobs.read(digest);
    if (!content) throw unknown();
    const entry = { mediaType: mediaTypeOf(content), content };
    this.cache.set(digest.digest, entry);
    return { digest, ...entry };
  }

  /**
   * `referencesPresent: false` stores a manifest whose blobs are not here yet: the pull-through
   * cache, which fetches them from the upstream when they are asked for.
   */
  async put(name: string, reference: string, contentType: string | undefined, content: Buffer, options: { referencesPresent?: boolean } = {}): Promise<PutResult> {
    if (content.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError('SIZE_INVALID', `manifest exceeds ${MAX_MANIFEST_BYTES} bytes`, undefined, { status: 413 });
    }
    const byDigest = reference.includes(':');
    const expected = byDigest ? parseDigest(reference) : undefined;
    if (!byDigest) assertTag(reference);
    const parsed = parseManifest(content, contentType);
    const algorithm = expected?.algorithm ?? 'sha256';
    const digest = parseDigest(`${algorithm}:${createHash(algorithm).update(content).digest('hex')}`);
    if (expected && expected.hex !== digest.hex) {
      throw new RegistryError('DIGEST_INVALID', 'manifest digest did not match the reference', {
        reference,
        digest: digest.digest,
      });
    }
    // An online collection keeps everything this manifest uses (storage/registry/gc-gate.ts).
    const used = [digest, ...parsed.blobs, ...parsed.manifests].map((d) => d.digest);
    used.push(repositoryKey(name));
    if (!byDigest) used.push(tagKey(name, reference));
    return await this.gate.using(used, () => this.store(name, reference, byDigest, digest, parsed, content, options));
  }

  private async store(
    name: string,
    reference: string,
    byDigest: boolean,
    digest: ParsedDigest,
    parsed: ParsedManifest,
    content: Buffer,
    options: { referencesPresent?: boolean },
  ): Promise<PutResult> {
    if (options.referencesPresent !== false) await this.checkReferences(name, parsed.blobs, parsed.manifests);

    await this.blobs.putSmall(digest, content);
    await writeLink(this.driver, paths.revisionLink(name, digest), digest);
    if (!byDigest) await this.tags.set(name, reference, digest);
    this.cache.set(digest.digest, { mediaType: parsed.mediaType, content });
    if (parsed.subject) {
      const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: digest.digest, size: content.length };
      if (parsed.artifactType) descriptor.artifactType = parsed.artifactType;
      if (parsed.annotations) descriptor.annotations = parsed.annotations;
      await this.referrers.add(name, parsed.subject, descriptor);
    }
    return parsed.subject ? { digest, mediaType: parsed.mediaType, subject: parsed.subject } : { digest, mediaType: parsed.mediaType };
  }

  /** Deletes a manifest revision and every tag pointing to it. */
  async delete(name: string, digest: ParsedDigest): Promise<void> {
    const manifest = await this.get(name, digest.digest);
    for (const tag of await this.tags.pointingTo(name, digest)) await this.tags.delete(name, tag);
    await deleteIfPresent(this.driver, paths.revisionDir(name, digest));
    try {
      const { subject } = parseManifest(manifest.content, manifest.mediaType);
      if (subject) await this.referrers.remove(name, subject, digest);
    } catch {
      // a manifest we cannot parse (written by another program) has no referrer entry
    }
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    assertTag(tag);
    if (!(await this.tags.delete(name, tag))) {
      throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name, tag });
    }
  }

  private async resolve(name: string, reference: string): Promise<ParsedDigest | undefined> {
    if (reference.includes(':')) return parseDigest(reference);
    assertTag(reference);
    return await this.tags.resolve(name, reference);
  }

  /** Each distinct reference checked once, a few at a time (a manifest may list one blob 30,000 times). */
  private async checkReferences(name: string, blobs: ParsedDigest[], manifests: ParsedDigest[]): Promise<void> {
    const checks = [
      ...distinct(blobs).map((d) => async () => ((await this.blobs.isLinked(name, d)) && (await this.blobs.size(d)) !== undefined) || d),
      ...distinct(manifests).map((d) => async () => (await linkExists(this.driver, paths.revisionLink(name, d))) || d),
    ];
    const results = await mapBounded(checks, REFERENCE_CHECKS_AT_ONCE, (check) => check());
    const missing = results.filter((r): r is ParsedDigest => r !== true);
    if (missing.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s) or manifest(s)`, {
        digests: missing.map((d) => d.digest),
      });
    }
  }
}

// The pull-through cache (registry:2 `proxy`, plus upstreams by name prefix and containerd's
// `?ns=`): a manifest or blob a repository does not hold is fetched from its upstream, sent to the
// client while it is stored, and served from here afterwards. A tag is asked of the upstream again
// once `ttl` has passed since it was last checked (a HEAD, which Docker Hub does not count against
// its pull limit); when the upstream is down, what is cached is served.
//
// Blobs go through an upload session like a push: hashed while they stream to disk, and moved
// under their digest only when the digest matches. A client that disconnects aborts the upstream
// download and the session is removed: nothing half-written is ever served.
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { LRUCache } from 'lru-cache';
import type { ProxyRemote } from '../../common/config/proxy.js';
import { isDigest, parseDigest, type ParsedDigest } from '../../common/digest.js';
import { RegistryError } from '../../common/errors.js';
import { isValidName } from '../../common/names.js';
import type { Logger } from '../../common/logger.js';
import type { StoredManifest } from '../registry/manifest-store.js';
import type { Registry } from '../registry/registry.js';
import { MAX_MANIFEST_BYTES } from '../registry/manifest-parser.js';
import { Upstream, UpstreamUnavailable } from './upstream.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Tags whose last check is remembered; past it the least recent are checked again sooner. */
const MAX_TAG_CHECKS = 100_000;

/** Where a request goes: the upstream, the name there, and the repository the cache keeps it in. */
export interface ProxyRoute {
  upstream: Upstream;
  /** The name on the upstream (`library/busybox`). */
  upstreamName: string;
  /** The repository here (`docker.io/library/busybox` for a prefix or `?ns=`; the name itself otherwise). */
  localName: string;
}

export class ProxyCache {
  private readonly byPrefix: Array<{ prefix: string; upstream: Upstream }>;
  private readonly fallback: Upstream | undefined;
  /** `<localName>:<tag>` -> when the upstream last confirmed it. */
  private readonly checked = new LRUCache<string, number>({ max: MAX_TAG_CHECKS });
  /**
   * Upstream checks under way, by `<localName>:<reference>`: pulls of one tag that miss together
   * (a deployment's pods starting at once) share one HEAD and GET, which is what Docker Hub counts.
   */
  private readonly asking = new Map<string, Promise<StoredManifest>>();
  /** For whoever exports them: manifests and blobs served from the cache, and fetched from the upstream. */
  readonly counters = { manifestHits: 0, manifestFetches: 0, blobHits: 0, blobFetches: 0, blobBytesFetched: 0, staleServed: 0 };

  constructor(
    remotes: ProxyRemote[],
    private readonly registry: Registry,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // Longest prefix first: `ghcr.io/team` wins over `ghcr.io`.
    this.byPrefix = remotes
      .filter((r) => r.prefix !== '')
      .map((r) => ({ prefix: r.prefix, upstream: new Upstream(r) }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
    const fallback = remotes.find((r) => r.prefix === '');
    this.fallback = fallback ? new Upstream(fallback) : undefined;
  }

  /** The upstream for a repository name (and containerd's `ns` query parameter), or undefined: not cached. */
  route(name: string, ns: unknown): ProxyRoute | undefined {
    if (typeof ns === 'string' && ns !== '') {
      const host = ns.toLowerCase();
      const match = this.byPrefix.find((p) => p.prefix === host);
      if (match) return this.routed(match.upstream, name, `${match.prefix}/${name}`);
      // An unknown namespace: the default upstream when there is one (docker.io from containerd).
    }
    for (const { prefix, upstream } of this.byPrefix) {
      if (name.startsWith(`${prefix}/`)) return this.routed(upstream, name.slice(prefix.length + 1), name);
    }
    return this.fallback ? this.routed(this.fallback, name, name) : undefined;
  }

  private routed(upstream: Upstream, upstreamName: string, localName: string): ProxyRoute {
    if (!isValidName(localName)) throw new RegistryError('NAME_INVALID', undefined, { name: localName });
    return { upstream, upstreamName, localName };
  }

  /** Writes through a cache are refused, as registry:2 refuses them in proxy mode. */
  refuseWrite(route: ProxyRoute | undefined): void {
    if (route) throw new RegistryError('UNSUPPORTED', 'this repository is a pull-through cache of an upstream registry: pushes and deletes are refused', { name: route.localName });
  }

  async manifest(route: ProxyRoute, reference: string): Promise<StoredManifest> {
    const readLocal = () =>
      this.registry.manifests.get(route.localName, reference).catch((err: unknown) => {
        if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') return undefined;
        throw err;
      });
    const byDigest = isDigest(reference);
    const key = `${route.localName}:${reference}`;
    const fresh = () => byDigest || this.now() - (this.checked.get(key) ?? -Infinity) < route.upstream.remote.ttlMs;
    let local = await readLocal();
    // A pull of the same tag may have stored it while this one read the disk.
    if (!local && !byDigest && fresh() && !this.asking.has(key)) local = await readLocal();
    if (local && fresh()) {
      this.counters.manifestHits++;
      return local;
    }
    let pending = this.asking.get(key);
    if (pending === undefined) {
      pending = this.askUpstream(route, reference, key, local).finally(() => this.asking.delete(key));
      this.asking.set(key, pending);
    }
    return pending;
  }

  /** The manifest as the upstream has it now (stored here), or the cached one when the upstream is down. */
  private async askUpstream(route: ProxyRoute, reference: string, key: string, local: StoredManifest | undefined): Promise<StoredManifest> {
    const byDigest = isDigest(reference);
    try {
      let digest = byDigest ? reference : undefined;
      if (!byDigest) {
        const head = await route.upstream.request('HEAD', route.upstreamName, `manifests/${reference}`, { accept: MANIFEST_TYPES });
        if (head.status === 404) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name: route.localName, reference });
        if (!head.ok) throw upstreamRefused(route, head.status);
        digest = head.headers.get('docker-content-digest') ?? undefined;
        if (local && digest === local.digest.digest) {
          this.checked.set(key, this.now());
          this.counters.manifestHits++;
          return local;
        }
      }
      const fetched = await this.fetchManifest(route, digest ?? reference, reference);
      if (!byDigest) this.checked.set(key, this.now());
      this.counters.manifestFetches++;
      return fetched;
    } catch (err) {
      if (!(err instanceof UpstreamUnavailable)) throw err;
      if (local) {
        this.counters.staleServed++;
        this.logger.warn({ name: route.localName, reference, err: err.message }, 'upstream unavailable: serving the cached manifest');
        return local;
      }
      throw new RegistryError('UNAVAILABLE', `the upstream registry is unavailable and ${route.localName}:${reference} is not cached`, { name: route.localName, reference });
    }
  }

  /** GETs the manifest (by digest when known), checks its digest, stores it (and the tag). */
  private async fetchManifest(route: ProxyRoute, ref: string, requested: string): Promise<StoredManifest> {
    const res = await route.upstream.request('GET', route.upstreamName, `manifests/${ref}`, { accept: MANIFEST_TYPES });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name: route.localName, reference: requested });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw upstreamRefused(route, res.status);
    }
    const content = await readLimited(res, MAX_MANIFEST_BYTES);
    if (content === undefined) throw new RegistryError('MANIFEST_INVALID', `the upstream's manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const expected = isDigest(ref) ? parseDigest(ref) : parseDigestHeader(res.headers.get('docker-content-digest'));
    const actual = createHash(expected?.algorithm ?? 'sha256').update(content).digest('hex');
    if (expected && expected.hex !== actual) {
      throw new RegistryError('DIGEST_INVALID', 'the upstream sent a manifest that does not match its digest', { name: route.localName, reference: requested });
    }
    const stored = await this.registry.manifests.put(route.localName, requested, res.headers.get('content-type') ?? undefined, content, { referencesPresent: false });
    return { digest: stored.digest, mediaType: stored.mediaType, content };
  }

  /**
   * Whether a blob is here for the route's repository: linked, or present under its digest
   * (fetched for another repository), which is then linked. Otherwise the caller asks `serveBlob`.
   */
  async hasBlob(route: ProxyRoute, digest: ParsedDigest): Promise<boolean> {
    if ((await this.registry.blobs.size(digest)) === undefined) return false;
    if (!(await this.registry.blobs.isLinked(route.localName, digest))) await this.registry.blobs.link(route.localName, digest);
    this.counters.blobHits++;
    return true;
  }

  /**
   * Answers a blob request from the upstream: HEAD with the upstream's headers; GET streams the
   * bytes to the client while an upload session stores them, committed once the digest matches.
   */
  async serveBlob(ctx: Context, route: ProxyRoute, digest: ParsedDigest): Promise<{ size: number | undefined }> {
    const abort = new AbortController();
    const res = await route.upstream.request(ctx.method === 'HEAD' ? 'HEAD' : 'GET', route.upstreamName, `blobs/${digest.digest}`, {}, abort.signal).catch((err: unknown) => {
      if (err instanceof UpstreamUnavailable) throw new RegistryError('UNAVAILABLE', `the upstream registry is unavailable and ${digest.digest} is not cached`, { digest: digest.digest });
      throw err;
    });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.digest });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw upstreamRefused(route, res.status);
    }
    const lengthHeader = res.headers.get('content-length');
    const size = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    ctx.set('Docker-Content-Digest', digest.digest);
    ctx.set('ETag', `"${digest.digest}"`);
    ctx.type = 'application/octet-stream';
    ctx.status = 200;
    if (size !== undefined) ctx.length = size;
    if (ctx.method === 'HEAD' || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      return { size };
    }

    const id = await this.registry.uploads.start(route.localName, 'proxy-cache');
    const toDisk = new PassThrough();
    const storing = this.registry.uploads.append(route.localName, id, toDisk);
    storing.catch(() => undefined);
    ctx.respond = false;
    ctx.res.writeHead(200);
    let clientGone = false;
    const onClose = () => {
      if (ctx.res.writableFinished) return;
      clientGone = true;
      abort.abort(new Error('the client went away'));
    };
    ctx.res.on('close', onClose);
    let received = 0;
    try {
      for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
        const buffer = chunk as Buffer;
        received += buffer.length;
        // Both waits are set up at once: a 'drain' that came while waiting for the other is not missed.
        const waits: Array<Promise<unknown>> = [];
        if (!ctx.res.write(buffer) && !clientGone) waits.push(Promise.race([once(ctx.res, 'drain'), once(ctx.res, 'close')]));
        if (!toDisk.write(buffer)) waits.push(Promise.race([once(toDisk, 'drain'), storing]));
        await Promise.all(waits);
        if (clientGone) throw new Error('the client went away');
      }
      toDisk.end();
      await storing;
      await this.registry.uploads.complete(route.localName, id, digest);
      this.counters.blobFetches++;
      this.counters.blobBytesFetched += received;
      ctx.res.end();
    } catch (err) {
      toDisk.destroy();
      await storing.catch(() => undefined);
      await this.registry.uploads.cancel(route.localName, id).catch(() => undefined);
      if (!clientGone) this.logger.warn({ name: route.localName, digest: digest.digest, err }, 'fetching a blob from the upstream failed');
      ctx.res.destroy(); // the client sees a short body, never a wrong one
    } finally {
      ctx.res.off('close', onClose);
    }
    return { size: received };
  }
}

/** The body, or undefined (and the rest left unread) once it passes `max` bytes: a declared or a chunked one. */
async function readLimited(res: Response, max: number): Promise<Buffer | undefined> {
  if (Number(res.headers.get('content-length')) > max || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    return res.body ? undefined : Buffer.alloc(0);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
    total += (chunk as Buffer).length;
    if (total > max) return undefined; // leaving the loop cancels the body
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseDigestHeader(value: string | null): ParsedDigest | undefined {
  if (value === null || !isDigest(value)) return undefined;
  return parseDigest(value);
}

/** 401/403/429 and the like from the upstream: a clear error naming it (the client cannot fix it). */
function upstreamRefused(route: ProxyRoute, status: number): RegistryError {
  const code = status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';
  return new RegistryError(code, `the upstream registry ${route.upstream.remote.remoteurl} answered ${status} for ${route.upstreamName}`, { name: route.localName }, { status: status === 429 ? 429 : 502 });
}

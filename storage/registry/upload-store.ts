// Upload sessions. The bytes and the start time live in the driver (`_uploads/<id>/`), so a
// restarted process, or another replica over the same bucket, can continue a session. The
// running sha256 of each session is kept in memory as the fast path (OpenSSL's sha256 is 3.5x
// faster here than a WASM sha256 whose state could be saved in the bucket: see docs/scaling.md);
// when this process does not have it (restart, an interrupted PATCH, the previous PATCH went to
// another replica) the data is hashed again from storage on completion. A cached state counts
// only for the exact bytes it hashed: same size and, on drivers that have it (S3's ETag), same
// version, so a concurrent write through another replica can never make a digest vouch for
// bytes it did not see. The lock that keeps two requests of one session apart (`busy`) is per
// process; across replicas that version check is what keeps a session's blob right.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { ParsedDigest } from '../../common/digest.js';
import { RegistryError } from '../../common/errors.js';
import { isPathNotFound, type FileInfo, type StorageDriver } from '../driver/driver.js';
import { noteBytesReceived } from '../../common/buffer-reclaim.js';
import type { BlobStore } from './blob-store.js';
import { copyCoalesced } from './coalesced-copy.js';
import { GcGate, repositoryKey } from './gc-gate.js';
import { deleteIfPresent } from './links.js';
import { UploadSessionLimiter, type UploadLimits } from './upload-limits.js';
import { paths } from './paths.js';

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { maxUploads: 5_000, maxUploadsPerClient: 500 };

// Hash states of sessions abandoned by their clients must not pile up.
const MAX_HASH_STATES = 10_000;
const UPLOAD_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The session's data file as last stat'ed or written. */
interface KnownData {
  size: number;
  version?: string;
}

interface HashState {
  size: number;
  /** The data file's version (FileInfo.version) when `hash` had seen all of it. */
  version?: string;
  hash: Hash;
}

export interface AppendOptions {
  /** First byte of this chunk (`Content-Range`); must equal the current size. */
  start?: number;
  /** Declared length of the chunk (checked against `Content-Length` by the handler). */
  length?: number;
}

export class UploadStore {
  private readonly hashes = new LRUCache<string, HashState>({ max: MAX_HASH_STATES });
  private readonly busy = new Set<string>();
  private readonly limiter: UploadSessionLimiter;

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    limits: UploadLimits = DEFAULT_UPLOAD_LIMITS,
    private readonly gate = new GcGate(),
  ) {
    this.limiter = new UploadSessionLimiter(limits);
  }

  /** Upload sessions open now (started, not finished or cancelled, active in the last 30 minutes). */
  openSessions(): number {
    return this.limiter.open;
  }

  /** Opens a session for `client` (a user or an address); TOOMANYREQUESTS past the caps. */
  async start(name: string, client = ''): Promise<string> {
    // An online collection does not remove the repository under a session being opened.
    return await this.gate.using([repositoryKey(name)], () => this.startUnlocked(name, client));
  }

  private async startUnlocked(name: string, client: string): Promise<string> {
    this.limiter.admit(client);
    const id = randomUUID();
    let version: string | undefined;
    try {
      await this.driver.putContent(paths.uploadStartedAt(name, id), Buffer.from(rfc3339(new Date())));
      const writer = await this.driver.writer(paths.uploadData(name, id), false);
      await writer.close();
      version = writer.version ?? (await this.version(name, id, 0));
    } catch (err) {
      await deleteIfPresent(this.driver, paths.uploadDir(name, id)).catch(() => false);
      throw err;
    }
    this.hashes.set(key(name, id), { size: 0, version, hash: createHash('sha256') });
    this.limiter.opened(key(name, id), client);
    return id;
  }

  /** Bytes received so far; BLOB_UPLOAD_UNKNOWN when there is no such session. */
  async size(name: string, id: string): Promise<number> {
    return (await this.dataInfo(name, id)).size;
  }

  /** The session's data file (size and version); BLOB_UPLOAD_UNKNOWN when there is no such session. */
  private async dataInfo(name: string, id: string): Promise<FileInfo> {
    checkId(id);
    try {
      return await this.driver.stat(paths.uploadData(name, id), { file: true });
    } catch (err) {
      if (isPathNotFound(err)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: id });
      throw err;
    }
  }

  /** Streams a chunk onto the end of the session; returns the new size. */
  async append(name: string, id: string, body: Readable, options: AppendOptions = {}): Promise<number> {
    return (await this.exclusive(name, id, () => this.dropWhenDiskFull(name, id, () => this.appendUnlocked(name, id, body, options)))).size;
  }

  /**
   * Completes the session: appends the final body if any, verifies the digest, makes the data
   * durable and moves it under its digest, then links it into the repository.
   */
  async complete(name: string, id: string, digest: ParsedDigest, body?: Readable): Promise<number> {
    // The blob is in use from here on: an online collection neither deletes it under this
    // completion nor right after, before its manifest arrives (storage/registry/gc-gate.ts).
    return await this.gate.using([digest.digest, repositoryKey(name)], () =>
      this.exclusive(name, id, () => this.dropWhenDiskFull(name, id, () => this.completeUnlocked(name, id, digest, body))),
    );
  }

  private async completeUnlocked(name: string, id: string, digest: ParsedDigest, body?: Readable): Promise<number> {
    const data = body ? await this.appendUnlocked(name, id, body, {}) : await this.dataInfo(name, id);
    const { size } = data;
    const actual = await this.digestOf(name, id, data, digest.algorithm);
    if (actual !== digest.hex) {
      await this.cancelUnlocked(name, id);
      throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
        digest: digest.digest,
      });
    }
    const dataPath = paths.uploadData(name, id);
    if ((await this.blobs.size(digest)) !== size) {
      // What was hashed is what is moved: the move is conditional on that version (S3's ETag).
      const writer = await this.driver.writer(dataPath, true, data);
      await writer.commit();
      await this.driver.move(dataPath, paths.blobData(digest), data);
    }
    await this.blobs.link(name, digest);
    await this.cancelUnlocked(name, id);
    return size;
  }

  /**
   * On a full disk the session is dropped: its bytes are returned to the disk at once (an
   * abandoned half-layer must not keep a full disk full), and the client's retry starts anew.
   */
  private async dropWhenDiskFull<T>(name: string, id: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (isDiskFull(err)) await this.cancelUnlocked(name, id).catch(() => undefined);
      throw err;
    }
  }

  async cancel(name: string, id: string): Promise<void> {
    await this.size(name, id); // BLOB_UPLOAD_UNKNOWN for a session that does not exist
    await this.exclusive(name, id, () => this.cancelUnlocked(name, id));
  }

  /** Appends, and returns the data file's new size and version (undefined when unknown). */
  private async appendUnlocked(name: string, id: string, body: Readable, options: AppendOptions): Promise<KnownData> {
    const data = await this.dataInfo(name, id);
    const current = data.size;
    if (options.start !== undefined && options.start !== current) {
      body.resume();
      throw rangeError(id, current, `chunk starts at ${options.start}, the upload has ${current} bytes`);
    }
    const k = key(name, id);
    this.limiter.touch(k);
    const state = this.hashes.get(k);
    // The in-memory hash only stays valid if every byte of this chunk reaches the file.
    this.hashes.delete(k);
    const hash = state && state.size === current && state.version === data.version ? state.hash : undefined;
    const writer = await this.driver.writer(paths.uploadData(name, id), true, data);
    try {
      await copyCoalesced(body, writer.stream, (bytes) => {
        hash?.update(bytes);
        noteBytesReceived(bytes.length);
      });
    } finally {
      await writer.close();
    }
    const size = writer.size;
    // The version the write reported saves a stat; without one (or without a hash to keep) the
    // file is stat'ed, since the caller (a completion) needs its version anyway.
    const version = writer.version ?? (await this.version(name, id, size));
    if (hash) this.hashes.set(k, { size, version, hash });
    return { size, version };
  }

  private async digestOf(name: string, id: string, data: KnownData, algorithm: string): Promise<string> {
    const k = key(name, id);
    const state = this.hashes.get(k);
    // Digest a copy: if a later step of the completion fails (fsync, rename, link), the cached
    // state must still be usable by the client's retry (a finalised Hash throws forever). Any
    // state that cannot be used is dropped for the re-hash below.
    if (algorithm === 'sha256' && state && state.size === data.size && state.version === data.version) {
      try {
        return state.hash.copy().digest('hex');
      } catch {
        this.hashes.delete(k);
      }
    }
    const hash = createHash(algorithm);
    const reader = await this.driver.reader(paths.uploadData(name, id));
    for await (const chunk of reader) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  /** The data file's version when it has `size` bytes; undefined on drivers without versions. */
  private async version(name: string, id: string, size: number): Promise<string | undefined> {
    const info = await this.driver.stat(paths.uploadData(name, id)).catch(() => undefined);
    return info && info.size === size ? info.version : 'changed';
  }

  private async cancelUnlocked(name: string, id: string): Promise<void> {
    this.hashes.delete(key(name, id));
    this.limiter.closed(key(name, id));
    await deleteIfPresent(this.driver, paths.uploadDir(name, id));
  }

  /** One request at a time per session: a second concurrent chunk gets 416 with the current range. */
  private async exclusive<T>(name: string, id: string, work: () => Promise<T>): Promise<T> {
    checkId(id);
    const k = key(name, id);
    if (this.busy.has(k)) {
      const current = await this.size(name, id);
      throw rangeError(id, current, 'another request is writing to this upload');
    }
    this.busy.add(k);
    try {
      return await work();
    } finally {
      this.busy.delete(k);
    }
  }
}

export function rangeHeader(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}

function rangeError(id: string, current: number, message: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', message, undefined, {
    status: 416,
    headers: { Range: rangeHeader(current), 'Docker-Upload-UUID': id },
  });
}

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function checkId(id: string): void {
  if (!UPLOAD_ID_RE.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: id });
}

function key(name: string, id: string): string {
  return `${name}\u0000${id}`;
}

/** RFC 3339 without fractional seconds, as registry:2 writes `startedat`. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

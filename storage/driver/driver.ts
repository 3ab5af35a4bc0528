// The storage driver interface, in the spirit of distribution's StorageDriver: a tiny
// filesystem-like API over '/'-separated absolute paths. The registry logic only talks to this,
// never to `fs`, so the same logic runs over the filesystem, memory or (later) S3.
//
// S3 has no rename and writes big objects in multipart parts: `move` may be a copy + delete,
// and a FileWriter may buffer parts; callers never rely on more than what is written here.
import type { Readable, Writable } from 'node:stream';

export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
  isDir: boolean;
  /** Optional: changes whenever the file's content changes (S3: the ETag). */
  version?: string;
}

/** A writer for a (possibly large) file that is appended to across requests. */
export interface FileWriter {
  /** Bytes in the file so far, including what was there when the writer was opened. */
  readonly size: number;
  /** A stream to pipe bytes into; `size` grows as they are written. */
  readonly stream: Writable;
  /** Flushes and releases the writer; the bytes stay for a later writer in append mode. */
  close(): Promise<void>;
  /** Flushes, makes the file durable (fsync / completes the multipart upload) and releases it. */
  commit(): Promise<void>;
  /** Releases the writer and removes the file. */
  cancel(): Promise<void>;
  /**
   * Optional: after close/commit, the file's version (FileInfo.version) as the write itself
   * reported it (S3: the PUT's ETag), so that the caller need not stat the file again.
   */
  readonly version?: string;
}

/**
 * What a caller already knows about a file from a stat it just made. Object stores use it instead
 * of asking again (one request less) and make the operation conditional on `version` (S3: the
 * ETag), so a file changed in between by another replica fails the operation instead of being
 * used at the wrong size. Drivers that have no use for it ignore it.
 */
export interface KnownFile {
  size: number;
  version?: string;
}

export interface StorageDriver {
  readonly name: string;
  /** Whole content of a small file. Throws PathNotFoundError. */
  getContent(path: string): Promise<Buffer>;
  /** Writes a small file atomically and durably: readers see the old or the new content, never a mix. */
  putContent(path: string, content: Uint8Array): Promise<void>;
  /** A stream of the file from `offset`, `length` bytes (default: to the end). Throws PathNotFoundError. */
  reader(path: string, offset?: number, length?: number): Promise<Readable>;
  /** A writer that creates the file, or appends to it when `append` is true (`known`: the file as just stat'ed). */
  writer(path: string, append: boolean, known?: KnownFile): Promise<FileWriter>;
  /**
   * Throws PathNotFoundError. `options.file`: the caller asks about a file only (a directory there
   * may be reported missing), which lets object stores answer a missing path in one request.
   */
  stat(path: string, options?: { file?: boolean }): Promise<FileInfo>;
  /** Full paths of the direct children of a directory, unsorted. Throws PathNotFoundError. */
  list(path: string): Promise<string[]>;
  /**
   * Moves a file, replacing the destination. Throws PathNotFoundError when the source is missing
   * (`known`: the source as just stat'ed; a source changed since may make the move fail).
   */
  move(sourcePath: string, destPath: string, known?: KnownFile): Promise<void>;
  /** Removes a file or a whole directory tree. Throws PathNotFoundError. */
  delete(path: string): Promise<void>;
  /**
   * Optional fast path for downloads: writes `length` bytes of the file from `offset` to `dest`
   * (a response), reusing a few buffers instead of allocating one per chunk. Drivers without it
   * are read through `reader`.
   */
  copyTo?(path: string, dest: Writable, offset: number, length: number): Promise<void>;
  /**
   * Optional, for drivers that keep files on this machine: the file's absolute path (`/` is the
   * root directory). Only with it does storage offer file handoff (the gateway sends blob files
   * itself); a driver whose files are elsewhere (S3) leaves it out.
   */
  localPath?(path: string): string;
  /**
   * Optional, for object stores (registry:2's RedirectURL): a URL where the client can fetch the
   * file directly for a while (a presigned S3 URL): for clients when `storage.redirect` allows
   * it, and for the gateway's URL handoff (gateway/url-handoff.ts). `expiresIn` in seconds.
   */
  redirectURL?(path: string, method: 'GET' | 'HEAD', expiresIn?: number): Promise<string>;
}

export class PathNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`path not found: ${path}`);
    this.name = 'PathNotFoundError';
  }
}

export class InvalidPathError extends Error {
  constructor(readonly path: string) {
    super(`invalid storage path: ${JSON.stringify(path)}`);
    this.name = 'InvalidPathError';
  }
}

export function isPathNotFound(err: unknown): err is PathNotFoundError {
  return err instanceof PathNotFoundError;
}

// Path components are what registry logic builds from validated names, digests and tags;
// this last check makes it impossible for any request to reach outside the root.
const COMPONENT_RE = /^[A-Za-z0-9._:+=-]+$/;

/** Throws InvalidPathError unless `path` is absolute, '/'-separated, without `.`/`..`/empty parts. */
export function checkPath(path: string): void {
  if (path === '/') return;
  if (!path.startsWith('/') || path.endsWith('/')) throw new InvalidPathError(path);
  for (const part of path.slice(1).split('/')) {
    if (part === '.' || part === '..' || !COMPONENT_RE.test(part)) throw new InvalidPathError(path);
  }
}

/** Runs `visit` on every file and directory under `path`, depth first; return false to skip a directory. */
export async function walk(
  driver: StorageDriver,
  path: string,
  visit: (info: FileInfo) => Promise<boolean | void> | boolean | void,
): Promise<void> {
  const children = await driver.list(path);
  children.sort();
  for (const child of children) {
    let info: FileInfo;
    try {
      info = await driver.stat(child);
    } catch (err) {
      if (isPathNotFound(err)) continue; // removed while walking
      throw err;
    }
    const descend = await visit(info);
    if (info.isDir && descend !== false) {
      try {
        await walk(driver, child, visit);
      } catch (err) {
        if (!isPathNotFound(err)) throw err;
      }
    }
  }
}

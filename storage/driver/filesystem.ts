// The default driver: files under a root directory, in exactly the layout registry:2 writes.
// Small files are replaced atomically (temp file, fsync, rename); big files are appended with
// vectored writes and fsynced on commit. After a rename that acknowledges a write, the
// directories whose entries changed are fsynced too: without that, a power loss can forget
// the new name even though the file's data is on disk.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { copyFileRange } from '../../common/file-copy.js';
import { checkPath, PathNotFoundError, type FileInfo, type FileWriter, type StorageDriver } from './driver.js';

const READ_CHUNK = 1024 * 1024;
/**
 * A big write flushes its data to disk in the background every this many bytes, while the rest
 * still arrives: the fsync that acknowledges it (at the upload's PUT) then has only the tail left
 * to write, instead of the whole layer at once (256 MiB took 0.7 s on this machine's disk).
 */
const BACKGROUND_FLUSH_BYTES = 32 * 1024 * 1024;

/** What putContent names its temporary files: `<target>.tmp-<12 hex>`; nothing else matches. */
const TEMP_FILE = /\.tmp-[0-9a-f]{12}$/;

function tempPathFor(target: string): string {
  return `${target}.tmp-${randomBytes(6).toString('hex')}`;
}

export interface SweepOptions {
  /** Stop after this many directory entries (a huge tree must not keep the sweep going for hours). */
  maxEntries: number;
  /** Directories read at once. */
  concurrency: number;
  /** Polled between directories: true ends the sweep (the server is closing). */
  stopped?: () => boolean;
}

export interface SweepResult {
  /** Driver paths of the temporary files removed. */
  removed: string[];
  entries: number;
  /** The sweep stopped at `maxEntries` or when asked to. */
  incomplete: boolean;
}

export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';

  /**
   * Temporary files this process is writing right now: the start-up sweep runs while requests
   * are served, and must leave these alone.
   */
  private readonly liveTemps = new Set<string>();

  constructor(readonly rootDirectory: string) {}

  private full(path: string): string {
    checkPath(path);
    return join(this.rootDirectory, path);
  }

  async getContent(path: string): Promise<Buffer> {
    return await this.translate(path, () => fs.readFile(this.full(path)));
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    const target = this.full(path);
    const created = await fs.mkdir(dirname(target), { recursive: true });
    const temp = tempPathFor(target);
    // Registered before the file exists, forgotten once it is renamed or removed: the sweep never
    // sees a live temp file without its name in the set.
    this.liveTemps.add(temp);
    try {
      const handle = await fs.open(temp, 'w', 0o644);
      try {
        await handle.writeFile(content);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target);
    } catch (err) {
      // Nothing of a failed write stays behind (a full disk leaves no temp file, no empty folder).
      await fs.rm(temp, { force: true });
      await removeEmptyDirectories(dirname(target), created);
      throw err;
    } finally {
      this.liveTemps.delete(temp);
    }
    await syncDirectories(dirname(target), created);
  }

  /**
   * Removes the temporary files of putContent calls that never finished (a SIGKILL, a power loss
   * between the write and the rename) under the given directories. Only names of the driver's own
   * pattern go, and never one this process is writing. The filesystem driver assumes one storage
   * process owns its root (upload sessions are locked in memory too): a second replica sharing
   * the directory could lose an in-flight temp file to this sweep, and its write would fail.
   */
  async sweepTemporaryFiles(directories: string[], options: SweepOptions): Promise<SweepResult> {
    const result: SweepResult = { removed: [], entries: 0, incomplete: false };
    // Depth first from a stack the workers share: memory holds the folders met on the way down
    // (a few thousand names), where a breadth-first level of a big data directory held hundreds
    // of thousands of paths (~100 MB at 10,000 repositories).
    const pending = [...directories].reverse();
    let reading = 0;
    let failed = false;
    const wake: Array<() => void> = [];
    const wakeAll = () => {
      for (const resume of wake.splice(0)) resume();
    };
    const sweepOne = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(this.full(dir), { withFileTypes: true });
      } catch (err) {
        // A directory removed meanwhile (a delete, a purge) has nothing left to sweep.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      result.entries += entries.length;
      const subdirectories: string[] = [];
      for (const entry of entries) {
        const path = `${dir}/${entry.name}`;
        // A name the driver would never write (an operator's file, say) is not ours to touch or enter.
        if (!isDriverPath(path)) continue;
        if (entry.isDirectory()) subdirectories.push(path);
        else if (entry.isFile() && TEMP_FILE.test(entry.name) && !this.liveTemps.has(this.full(path))) {
          await fs.rm(this.full(path), { force: true });
          result.removed.push(path);
        }
      }
      for (let i = subdirectories.length - 1; i >= 0; i--) pending.push(subdirectories[i]!);
    };
    const worker = async (): Promise<void> => {
      while (!failed) {
        const dir = pending.pop();
        if (dir === undefined) {
          if (reading === 0) return wakeAll(); // nothing left and nobody adding: done
          await new Promise<void>((resume) => wake.push(resume));
          continue;
        }
        if (result.entries >= options.maxEntries || options.stopped?.()) {
          result.incomplete = true;
          pending.length = 0;
          continue;
        }
        reading++;
        try {
          await sweepOne(dir);
        } catch (err) {
          failed = true;
          throw err;
        } finally {
          reading--;
          wakeAll();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    return result;
  }

  async reader(path: string, offset = 0, length?: number): Promise<Readable> {
    const handle = await this.translate(path, () => fs.open(this.full(path), fsConstants.O_RDONLY));
    const end = length === undefined ? undefined : offset + length - 1;
    return handle.createReadStream({ start: offset, end, highWaterMark: READ_CHUNK, autoClose: true });
  }

  localPath(path: string): string {
    return this.full(path);
  }

  async copyTo(path: string, dest: Writable, offset: number, length: number): Promise<void> {
    const handle = await this.translate(path, () => fs.open(this.full(path), fsConstants.O_RDONLY));
    try {
      await copyFileRange(handle, dest, offset, length);
    } finally {
      await handle.close();
    }
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    const target = this.full(path);
    await fs.mkdir(dirname(target), { recursive: true });
    const handle = await fs.open(target, append ? 'a' : 'w', 0o644);
    const { size } = await handle.stat();
    return new FilesystemFileWriter(handle, target, size);
  }

  async stat(path: string): Promise<FileInfo> {
    const info = await this.translate(path, () => fs.stat(this.full(path)));
    return { path, size: info.size, modTime: info.mtime, isDir: info.isDirectory() };
  }

  async list(path: string): Promise<string[]> {
    const entries = await this.translate(path, () => fs.readdir(this.full(path)));
    const prefix = path === '/' ? '' : path;
    // Temp files of an unfinished putContent are not part of the tree.
    return entries.filter((name) => !name.includes('.tmp-')).map((name) => `${prefix}/${name}`);
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.full(sourcePath);
    const dest = this.full(destPath);
    const created = await fs.mkdir(dirname(dest), { recursive: true });
    try {
      await this.translate(sourcePath, () => fs.rename(source, dest));
    } catch (err) {
      await removeEmptyDirectories(dirname(dest), created);
      throw err;
    }
    await syncDirectories(dirname(dest), created);
  }

  async delete(path: string): Promise<void> {
    const target = this.full(path);
    await this.translate(path, () => fs.lstat(target));
    await fs.rm(target, { recursive: true, force: true });
  }

  private async translate<T>(path: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new PathNotFoundError(path);
      throw err;
    }
  }
}

function isDriverPath(path: string): boolean {
  try {
    checkPath(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the entries of `dir` durable, and those of the directories `mkdir` just created on the
 * way to it (`created` is the first one, as `fs.mkdir` returns it): each new directory is itself
 * an entry in its parent.
 */
async function syncDirectories(dir: string, created: string | undefined): Promise<void> {
  const dirs = [dir];
  if (created !== undefined) {
    for (let d = dirname(dir); d.length >= dirname(created).length && d !== dirname(d); d = dirname(d)) dirs.push(d);
  }
  await Promise.all(dirs.map(syncDirectory));
}

/** Removes `dir` and its parents up to `created` while they are empty (another writer may use them). */
async function removeEmptyDirectories(dir: string, created: string | undefined): Promise<void> {
  if (created === undefined) return;
  for (let d = dir; d.length >= created.length; d = dirname(d)) {
    try {
      await fs.rmdir(d);
    } catch {
      return;
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

class FilesystemFileWriter implements FileWriter {
  readonly stream: Writable;
  private written: number;
  private released = false;
  private unflushed = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly target: string,
    initialSize: number,
  ) {
    this.written = initialSize;
    this.stream = new Writable({
      highWaterMark: READ_CHUNK,
      writev: (chunks, callback) => {
        const buffers = chunks.map((c) => c.chunk as Buffer);
        const expected = buffers.reduce((sum, b) => sum + b.length, 0);
        this.handle.writev(buffers).then(({ bytesWritten }) => {
          this.written += bytesWritten;
          this.flushInBackground(bytesWritten);
          // A short write on a regular file means the disk is full.
          callback(bytesWritten === expected ? null : Object.assign(new Error('short write'), { code: 'ENOSPC' }));
        }, callback);
      },
      final: (callback) => callback(),
    });
  }

  get size(): number {
    return this.written;
  }

  async close(): Promise<void> {
    await this.release();
  }

  async commit(): Promise<void> {
    try {
      await this.endStream();
      await this.handle.datasync();
    } finally {
      await this.release();
    }
  }

  async cancel(): Promise<void> {
    this.stream.destroy();
    await this.release();
    await fs.rm(this.target, { force: true });
  }

  private async endStream(): Promise<void> {
    if (this.stream.writableFinished || this.stream.destroyed) return;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }

  /** Starts a datasync once enough bytes wait for one; its failure is the commit's to see. */
  private flushInBackground(bytes: number): void {
    this.unflushed += bytes;
    if (this.unflushed < BACKGROUND_FLUSH_BYTES || this.flushing) return;
    this.unflushed = 0;
    this.flushing = this.handle.datasync().then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.flushing = undefined;
    });
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (!this.stream.destroyed && !this.stream.writableFinished) {
      await this.endStream().catch(() => undefined);
    }
    // The handle stays open until a background flush is done with it.
    await this.flushing;
    await this.handle.close();
  }
}

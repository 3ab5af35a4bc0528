// An in-memory driver for unit tests and experiments: the same contract as the filesystem
// driver (it runs the same driver test suite), with directories derived from file paths.
import { Readable, Writable } from 'node:stream';
import { checkPath, PathNotFoundError, type FileInfo, type FileWriter, type StorageDriver } from './driver.js';

interface MemoryFile {
  chunks: Buffer[];
  size: number;
  modTime: Date;
}

export class MemoryDriver implements StorageDriver {
  readonly name = 'inmemory';
  private readonly files = new Map<string, MemoryFile>();

  async getContent(path: string): Promise<Buffer> {
    return Buffer.concat(this.file(path).chunks);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    checkPath(path);
    this.files.set(path, { chunks: [Buffer.from(content)], size: content.length, modTime: new Date() });
  }

  async reader(path: string, offset = 0, length?: number): Promise<Readable> {
    const data = Buffer.concat(this.file(path).chunks);
    const end = length === undefined ? data.length : Math.min(data.length, offset + length);
    return Readable.from([data.subarray(Math.min(offset, data.length), end)]);
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    checkPath(path);
    let file = this.files.get(path);
    if (!file || !append) {
      file = { chunks: [], size: 0, modTime: new Date() };
      this.files.set(path, file);
    }
    const target = file;
    const files = this.files;
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        target.chunks.push(Buffer.from(chunk));
        target.size += chunk.length;
        target.modTime = new Date();
        callback();
      },
    });
    const finish = async (): Promise<void> => {
      if (stream.writableFinished || stream.destroyed) return;
      await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    };
    return {
      get size() {
        return target.size;
      },
      stream,
      close: finish,
      commit: finish,
      async cancel() {
        stream.destroy();
        files.delete(path);
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    checkPath(path);
    const file = this.files.get(path);
    if (file) return { path, size: file.size, modTime: file.modTime, isDir: false };
    if (this.childrenOf(path).size > 0) return { path, size: 0, modTime: new Date(0), isDir: true };
    throw new PathNotFoundError(path);
  }

  async list(path: string): Promise<string[]> {
    checkPath(path);
    const children = this.childrenOf(path);
    if (children.size === 0) throw new PathNotFoundError(path);
    return [...children];
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    checkPath(destPath);
    const file = this.file(sourcePath);
    this.files.delete(sourcePath);
    this.files.set(destPath, file);
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    const prefix = path === '/' ? '/' : `${path}/`;
    let found = this.files.delete(path);
    for (const key of [...this.files.keys()]) {
      if (key.startsWith(prefix)) {
        this.files.delete(key);
        found = true;
      }
    }
    if (!found) throw new PathNotFoundError(path);
  }

  private file(path: string): MemoryFile {
    checkPath(path);
    const file = this.files.get(path);
    if (!file) throw new PathNotFoundError(path);
    return file;
  }

  private childrenOf(path: string): Set<string> {
    const prefix = path === '/' ? '/' : `${path}/`;
    const children = new Set<string>();
    for (const key of this.files.keys()) {
      if (!key.startsWith(prefix)) continue;
      const next = key.indexOf('/', prefix.length);
      children.add(next === -1 ? key : key.slice(0, next));
    }
    return children;
  }
}

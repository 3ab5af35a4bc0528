// A storage driver that forwards to a real one and fails chosen operations a given number of
// times (the way a disk fails: EIO on fsync, ENOSPC on rename), to test what the registry does
// after a failure and that a retry then succeeds. It also counts writes to file streams.
import type { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage/driver/driver.js';

export type FaultyOperation = 'putContent' | 'move' | 'commit' | 'writer';

export class FaultyDriver implements StorageDriver {
  readonly name: string;
  private readonly faults = new Map<FaultyOperation, { times: number; code: string; when?: (path: string) => boolean }>();
  /** How many injected failures were thrown so far. */
  injected = 0;
  /** How many times the registry wrote to a file writer's stream (each write is a hash update and a queued chunk). */
  streamWrites = 0;
  /** How many directories were listed. */
  lists = 0;

  constructor(private readonly inner: StorageDriver) {
    this.name = `faulty ${inner.name}`;
  }

  /** The next `times` calls of `operation` (on a path `when` accepts) fail with an error of `code`. */
  fail(operation: FaultyOperation, options: { times?: number; code?: string; when?: (path: string) => boolean } = {}): void {
    this.faults.set(operation, { times: options.times ?? 1, code: options.code ?? 'EIO', when: options.when });
  }

  private check(operation: FaultyOperation, path: string): void {
    const fault = this.faults.get(operation);
    if (!fault || fault.times <= 0 || (fault.when && !fault.when(path))) return;
    fault.times--;
    this.injected++;
    throw Object.assign(new Error(`injected ${fault.code} on ${operation} ${path}`), { code: fault.code });
  }

  getContent(path: string): Promise<Buffer> {
    return this.inner.getContent(path);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    this.check('putContent', path);
    await this.inner.putContent(path, content);
  }

  reader(path: string, offset?: number, length?: number): Promise<Readable> {
    return this.inner.reader(path, offset, length);
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    this.check('writer', path);
    const inner = await this.inner.writer(path, append);
    const check = () => this.check('commit', path);
    const stream = inner.stream as unknown as { write: (...args: unknown[]) => boolean };
    const write = stream.write.bind(stream);
    stream.write = (...args: unknown[]) => {
      this.streamWrites++;
      return write(...args);
    };
    return {
      get size() {
        return inner.size;
      },
      stream: inner.stream,
      close: () => inner.close(),
      async commit() {
        try {
          check();
        } catch (err) {
          await inner.close();
          throw err;
        }
        await inner.commit();
      },
      cancel: () => inner.cancel(),
    };
  }

  stat(path: string): Promise<FileInfo> {
    return this.inner.stat(path);
  }

  list(path: string): Promise<string[]> {
    this.lists++;
    return this.inner.list(path);
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    this.check('move', destPath);
    await this.inner.move(sourcePath, destPath);
  }

  delete(path: string): Promise<void> {
    return this.inner.delete(path);
  }
}

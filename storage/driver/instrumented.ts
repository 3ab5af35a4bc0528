// A decorator that times every operation of any StorageDriver and counts its failures
// (registry_storage_driver_operation_duration_seconds, registry_storage_driver_errors_total),
// so each driver, present or future, is measured without a line of its own. A missing path is
// the answer to a question (does this blob exist?), not a failure: it is timed, not counted.
import type { Writable } from 'node:stream';
import { isPathNotFound, type FileWriter, type KnownFile, type StorageDriver } from './driver.js';

export interface DriverObserver {
  /** One operation took `seconds`; `failed` unless it succeeded or found no such path. */
  observe(driver: string, operation: string, seconds: number, failed: boolean): void;
}

export function instrumentDriver(driver: StorageDriver, observer: DriverObserver): StorageDriver {
  const name = driver.name;
  const timed = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await run();
      observer.observe(name, operation, seconds(), false);
      return result;
    } catch (err) {
      observer.observe(name, operation, seconds(), !isPathNotFound(err));
      throw err;
    }
  };
  const instrumentWriter = (writer: FileWriter): FileWriter => ({
    get size() {
      return writer.size;
    },
    get stream() {
      return writer.stream;
    },
    close: () => timed('writer.close', () => writer.close()),
    commit: () => timed('writer.commit', () => writer.commit()),
    cancel: () => timed('writer.cancel', () => writer.cancel()),
    get version() {
      return writer.version;
    },
  });

  // The listed operations are timed; anything else a driver offers (copyTo when absent,
  // localPath, methods added later) passes through untouched, so wrapping never hides a capability.
  const operations: Partial<Record<keyof StorageDriver, unknown>> = {
    getContent: (path: string) => timed('getContent', () => driver.getContent(path)),
    putContent: (path: string, content: Uint8Array) => timed('putContent', () => driver.putContent(path, content)),
    reader: (path: string, offset?: number, length?: number) => timed('reader', () => driver.reader(path, offset, length)),
    writer: async (path: string, append: boolean, known?: KnownFile) => instrumentWriter(await timed('writer', () => driver.writer(path, append, known))),
    stat: (path: string, options?: { file?: boolean }) => timed('stat', () => driver.stat(path, options)),
    list: (path: string) => timed('list', () => driver.list(path)),
    move: (source: string, dest: string, known?: KnownFile) => timed('move', () => driver.move(source, dest, known)),
    delete: (path: string) => timed('delete', () => driver.delete(path)),
  };
  if (driver.copyTo) {
    const copyTo = driver.copyTo.bind(driver);
    operations.copyTo = (path: string, dest: Writable, offset: number, length: number) => timed('copyTo', () => copyTo(path, dest, offset, length));
  }
  return new Proxy(driver, {
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(operations, property)) return operations[property as keyof StorageDriver];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

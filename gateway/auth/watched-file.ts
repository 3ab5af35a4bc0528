// Follows a small file's content. A change is a change of the content's SHA-256, never a
// comparison of modification times (which can be coarse, or equal for two quick writes).
//
// A cheap stat runs on an interval and, at most every `lazyCheckMs`, when someone asks for fresh
// content; the file is read when the stat differs (inode, size, mtime, ctime) or, at the latest,
// every `fullReadEveryMs`, which catches a same-size rewrite within the filesystem's timestamp
// granularity. Apache's `htpasswd` rewrites the file IN PLACE (truncate, then write), so new
// content is only accepted once two reads a moment apart agree: a half-written file is never used.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';

export interface WatchedFileOptions {
  /** How often to stat the file (default 1000 ms). */
  intervalMs?: number;
  /** Read the file at least this often even when its stat looks unchanged (default 10 000 ms). */
  fullReadEveryMs?: number;
  /** Minimum time between checks triggered by `refreshIfStale` (default 250 ms). */
  lazyCheckMs?: number;
  /** Called with the new content after it changed. */
  onChange(text: string): void;
  /** Called once when the file cannot be read any more (until it can be read again). */
  onUnavailable(error: Error): void;
  /** Called once when the file can be read again after `onUnavailable`. */
  onAvailableAgain(): void;
}

/**
 * How every followed file reports losing and regaining its source: `what` names it in the log
 * (`htpasswd`, `access policy`) and `kept` says what stays in force meanwhile.
 */
export function logAvailability(logger: Logger, path: string, what: string, kept: string): Pick<WatchedFileOptions, 'onUnavailable' | 'onAvailableAgain'> {
  return {
    onUnavailable: (error) =>
      logger.error({ path, code: (error as NodeJS.ErrnoException).code }, `${what}: the file cannot be read any more; keeping the ${kept} last loaded from it`),
    onAvailableAgain: () => logger.info({ path }, `${what}: the file can be read again`),
  };
}

const SETTLE_MS = 30;
const MAX_SETTLE_ATTEMPTS = 5;

function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

async function statSignature(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

export class WatchedFile {
  readonly path: string;
  #text: string;
  #digest: string;
  #signature: string;
  #lastReadAt: number;
  #lastCheckAt: number;
  #unavailable = false;
  #checking: Promise<void> | undefined;
  #closed = false;
  readonly #timer: NodeJS.Timeout;
  readonly #options: Required<Omit<WatchedFileOptions, 'onChange' | 'onUnavailable' | 'onAvailableAgain'>> &
    WatchedFileOptions;

  /** Reads the file once (throwing the fs error when it cannot) and starts following it. */
  static async open(path: string, options: WatchedFileOptions): Promise<WatchedFile> {
    const signature = await statSignature(path);
    const text = await readFile(path, 'utf8');
    return new WatchedFile(path, text, signature, options);
  }

  private constructor(path: string, text: string, signature: string, options: WatchedFileOptions) {
    this.path = path;
    this.#text = text;
    this.#digest = digestOf(text);
    this.#signature = signature;
    this.#lastReadAt = this.#lastCheckAt = Date.now();
    this.#options = {
      ...options,
      intervalMs: options.intervalMs ?? 1000,
      fullReadEveryMs: options.fullReadEveryMs ?? 10_000,
      lazyCheckMs: options.lazyCheckMs ?? 250,
    };
    this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMs);
    this.#timer.unref();
  }

  get text(): string {
    return this.#text;
  }

  /** Checks the file now (callers during a running check share it). Never rejects. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Checks the file unless it was checked within `lazyCheckMs`. */
  refreshIfStale(): Promise<void> {
    if (this.#checking) return this.#checking;
    if (Date.now() - this.#lastCheckAt < this.#options.lazyCheckMs) return Promise.resolve();
    return this.refresh();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#checking;
  }

  async #check(): Promise<void> {
    this.#lastCheckAt = Date.now();
    try {
      const signature = await statSignature(this.path);
      const fullReadDue = Date.now() - this.#lastReadAt >= this.#options.fullReadEveryMs;
      if (signature === this.#signature && !fullReadDue && !this.#unavailable) return;
      const text = await this.#readChanged();
      this.#lastReadAt = Date.now();
      if (this.#unavailable) {
        this.#unavailable = false;
        this.#options.onAvailableAgain();
      }
      if (text === undefined) return; // still being written: look again on the next check
      this.#signature = signature;
      const digest = digestOf(text);
      if (digest === this.#digest || this.#closed) return;
      this.#text = text;
      this.#digest = digest;
      this.#options.onChange(text);
    } catch (error) {
      if (!this.#unavailable) {
        this.#unavailable = true;
        this.#options.onUnavailable(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  /**
   * The content: at once when it is unchanged, otherwise once two reads SETTLE_MS apart agree;
   * undefined if it keeps changing.
   */
  async #readChanged(): Promise<string | undefined> {
    let previous = await readFile(this.path, 'utf8');
    if (digestOf(previous) === this.#digest) return previous;
    for (let attempt = 0; attempt < MAX_SETTLE_ATTEMPTS; attempt++) {
      await sleep(SETTLE_MS);
      const current = await readFile(this.path, 'utf8');
      if (current === previous) return current;
      previous = current;
    }
    return undefined;
  }
}

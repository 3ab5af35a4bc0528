// What the crash harness sent and when the registry was down, to tell an expected failure (a
// request in flight while a process was being killed and restarted) from a finding (a 5xx or a
// dropped connection while every process was up and ready).
import http from 'node:http';
import { createHash } from 'node:crypto';
import { send, type HttpResponse, type SendOptions } from '../helpers/storage-http.js';

export interface RequestEvent {
  label: string;
  start: number;
  end: number;
  status?: number;
  error?: string;
}

export interface DownWindow {
  /** Just before the SIGKILL. */
  start: number;
  /** When the restarted registry answered an authenticated GET /v2/ again. */
  end: number;
  killed: string;
}

export class Traffic {
  readonly events: RequestEvent[] = [];
  readonly windows: DownWindow[] = [];
  /** Set while a kill is under way: pushers wait for `up` before starting a new image. */
  private downSince: number | undefined;
  /** Set while the harness checks images: pushers wait, so the checks do not compete with them for the CPU. */
  private held = false;
  private waiters: Array<() => void> = [];

  constructor(
    readonly baseUrl: string,
    private readonly authorization: string,
  ) {}

  markDown(killed: string): void {
    this.downSince = Date.now();
    this.windows.push({ start: this.downSince, end: Number.POSITIVE_INFINITY, killed });
  }

  markUp(): void {
    const window = this.windows[this.windows.length - 1];
    if (window) window.end = Date.now();
    this.downSince = undefined;
    this.wake();
  }

  /** Pushers wait (before their next image) until `release`; requests in flight go on. */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.wake();
  }

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** Resolves once the registry is up and pushers are not held (at once when so). */
  up(): Promise<void> {
    if (!this.isDown && !this.held) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    if (this.isDown || this.held) return;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** One authenticated request through the shared node:http client, recorded. */
  async send(label: string, path: string, options: SendOptions = {}): Promise<HttpResponse> {
    const headers = { authorization: this.authorization, ...options.headers };
    return await this.track(label, () => send(this.baseUrl, path, { ...options, headers }));
  }

  /** GET of a blob, hashed as it streams (layers can be 100 MiB): status, sha256 and size. */
  async hashGet(label: string, path: string, timeoutMs = 300_000): Promise<{ status: number; digest: string; size: number }> {
    return await this.track(label, () => hashGet(`${this.baseUrl}${path}`, this.authorization, timeoutMs));
  }

  private async track<T extends { status: number }>(label: string, run: () => Promise<T>): Promise<T> {
    const start = Date.now();
    try {
      const result = await run();
      this.events.push({ label, start, end: Date.now(), status: result.status });
      return result;
    } catch (error) {
      this.events.push({ label, start, end: Date.now(), error: (error as Error).message });
      throw error;
    }
  }

  /** Requests that failed (5xx, or no answer) without overlapping any down window. */
  unexpectedFailures(): RequestEvent[] {
    return this.events.filter((event) => {
      const failed = event.error !== undefined || (event.status ?? 0) >= 500;
      return failed && !this.windows.some((w) => event.start <= w.end && event.end >= w.start);
    });
  }
}

function hashGet(url: string, authorization: string, timeoutMs: number): Promise<{ status: number; digest: string; size: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization }, agent: false }, (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`GET ${url}: response aborted`)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, digest: `sha256:${hash.digest('hex')}`, size }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

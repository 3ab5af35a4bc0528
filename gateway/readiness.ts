// /readyz: is this gateway worth sending traffic to? Storage must answer its health path
// (storage/health.ts: driver answering, data directory writable) and this process must not be
// draining. With registry:2's `health.storagedriver.enabled`, storage is checked every
// `interval` in the background and `threshold` failures in a row make the registry unhealthy:
// /readyz says so and, as registry:2 does, /v2 requests are answered 503 until a check passes.
// Without it, /readyz asks storage when asked, at most once a second (it needs no login, so a
// flood of probes must not turn into a flood of probe files written).
import { STORAGE_HEALTH_PATH } from '../common/internal-headers.js';
import type { Logger } from '../common/logger.js';
import { gatewayMetrics } from './metrics.js';
import type { Upstream } from './upstream.js';
import { getFromUpstream } from './upstream-request.js';

export interface ReadinessOptions {
  upstream: Upstream;
  internalToken?: string;
  logger: Logger;
  storagedriver: { enabled: boolean; intervalMs: number; threshold: number };
  /** Set by the gateway once it drains (SIGTERM). */
  draining: () => boolean;
  timeoutMs?: number;
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable' | 'draining';
  storage: Record<string, unknown>;
}

const CACHE_MS = 1000;

export class Readiness {
  private last: { at: number; report: ReadinessReport } | undefined;
  private inFlight: Promise<ReadinessReport> | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private unhealthySince: number | undefined;

  constructor(private readonly options: ReadinessOptions) {
    const { enabled, intervalMs } = options.storagedriver;
    if (enabled) {
      this.timer = setInterval(() => void this.periodic(), intervalMs);
      this.timer.unref();
      void this.periodic();
    }
  }

  /** registry:2's health gate: true only when periodic checks are on and failed `threshold` times in a row. */
  get unhealthy(): boolean {
    return this.unhealthySince !== undefined;
  }

  async report(): Promise<ReadinessReport> {
    if (this.options.draining()) return { status: 'draining', storage: {} };
    if (this.options.storagedriver.enabled) {
      const report = this.last?.report ?? (await this.checkNow());
      return this.unhealthy ? { ...report, status: 'unavailable' } : { ...report, status: 'ok' };
    }
    if (this.last && Date.now() - this.last.at < CACHE_MS) return this.last.report;
    return this.checkNow();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async periodic(): Promise<void> {
    const report = await this.checkNow();
    const { threshold } = this.options.storagedriver;
    if (report.status === 'ok') {
      if (this.unhealthySince !== undefined) this.options.logger.warn('health: storage check passes again, registry healthy');
      this.failures = 0;
      this.unhealthySince = undefined;
    } else if (++this.failures >= threshold && this.unhealthySince === undefined) {
      this.unhealthySince = Date.now();
      this.options.logger.error({ storage: report.storage, failures: this.failures }, 'health: storage check failed; answering 503 until it passes');
    }
  }

  private checkNow(): Promise<ReadinessReport> {
    this.inFlight ??= this.askStorage().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async askStorage(): Promise<ReadinessReport> {
    let report: ReadinessReport;
    try {
      const answer = await getFromUpstream(this.options.upstream, {
        path: STORAGE_HEALTH_PATH,
        internalToken: this.options.internalToken,
        requestId: 'readiness-check',
        timeoutMs: this.options.timeoutMs ?? 5000,
      });
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { error: `storage answered ${answer.status}` };
      }
      report = { status: answer.status === 200 ? 'ok' : 'unavailable', storage: body };
    } catch (err) {
      // Only the error's code: the storage address is not for unauthenticated callers.
      report = { status: 'unavailable', storage: { status: 'unreachable', error: (err as NodeJS.ErrnoException).code ?? 'error' } };
    }
    gatewayMetrics.storageUp.set(report.status === 'ok' ? 1 : 0);
    this.last = { at: Date.now(), report };
    return report;
  }
}

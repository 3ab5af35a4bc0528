// Storage's metrics: every driver operation's latency and errors (driver/instrumented.ts wraps
// whatever driver runs, filesystem, S3 or memory), the upload sessions open, and garbage
// collection runs (recordGcRun). The gateway reads them over the internal connection and serves
// them with its own (gateway/debug-server.ts).
import { Counter, Gauge, Histogram } from 'prom-client';
import { createMetricsRegistry } from '../common/metrics.js';

export const storageRegistry = createMetricsRegistry('storage');
let openUploads: (() => number) | undefined;

/** Where registry_uploads_in_progress is read from at each scrape. */
export function countUploadsFrom(source: () => number): void {
  openUploads = source;
}

// The histogram's child per driver and operation, looked up once (a dozen operations).
const driverDurations = new Map<string, { observe(seconds: number): void }>();

/** For instrumentDriver (driver/instrumented.ts). */
export const driverObserver = {
  observe(driver: string, operation: string, seconds: number, failed: boolean): void {
    const key = `${driver} ${operation}`;
    let child = driverDurations.get(key);
    if (!child) driverDurations.set(key, (child = storageMetrics.driverDuration.labels(driver, operation)));
    child.observe(seconds);
    if (failed) storageMetrics.driverErrors.inc({ driver, operation });
  },
};
const registers = [storageRegistry];

export const storageMetrics = {
  driverDuration: new Histogram({
    name: 'registry_storage_driver_operation_duration_seconds',
    help: 'Storage driver operations by driver and operation (a reader or writer: until its stream ends or it is committed)',
    labelNames: ['driver', 'operation'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers,
  }),
  driverErrors: new Counter({
    name: 'registry_storage_driver_errors_total',
    help: 'Storage driver operations that failed, by driver and operation (a missing path is an answer, not an error)',
    labelNames: ['driver', 'operation'] as const,
    registers,
  }),
  uploadsInProgress: new Gauge({
    name: 'registry_uploads_in_progress',
    help: 'Upload sessions open (started, neither finished nor cancelled, active in the last 30 minutes)',
    registers,
    collect() {
      this.set(openUploads?.() ?? 0);
    },
  }),
  gcRuns: new Counter({
    name: 'registry_gc_runs_total',
    help: 'Garbage collection runs, by result (completed, failed) and mode (delete, dry-run)',
    labelNames: ['result', 'mode'] as const,
    registers,
  }),
  gcReclaimedBytes: new Counter({
    name: 'registry_gc_reclaimed_bytes_total',
    help: 'Bytes of blobs deleted by garbage collection',
    registers,
  }),
  gcDeletedBlobs: new Counter({
    name: 'registry_gc_deleted_blobs_total',
    help: 'Blobs deleted by garbage collection',
    registers,
  }),
  gcDeletedManifests: new Counter({
    name: 'registry_gc_deleted_manifests_total',
    help: 'Manifest revisions deleted by garbage collection',
    registers,
  }),
  gcDuration: new Histogram({
    name: 'registry_gc_duration_seconds',
    help: 'How long garbage collection runs took',
    buckets: [0.1, 1, 10, 60, 300, 1800, 7200],
    registers,
  }),
  gcLastRun: new Gauge({
    name: 'registry_gc_last_run_timestamp_seconds',
    help: 'When the last garbage collection run ended (Unix time)',
    registers,
  }),
};
storageMetrics.gcReclaimedBytes.inc(0);
storageMetrics.gcDeletedBlobs.inc(0);
storageMetrics.gcDeletedManifests.inc(0);

/** What recordGcRun needs of a collector's report (the GcReport of storage/registry/garbage-collector.ts fits). */
export interface GcRunSummary {
  bytesReclaimed: number;
  blobsDeleted: readonly unknown[] | number;
  manifestsDeleted: readonly unknown[] | number;
}

export interface GcRunDetails {
  /** Nothing was deleted: counted as a run, not as reclaimed bytes. */
  dryRun?: boolean;
  durationMs?: number;
  /** The run threw; `report` (if any) holds what it did before. */
  failed?: boolean;
}

/**
 * Records one garbage collection run: call it where the collector runs inside storage (the
 * `registry gc` command is a process of its own, whose counters nobody scrapes).
 */
export function recordGcRun(report: GcRunSummary | undefined, details: GcRunDetails = {}): void {
  const mode = details.dryRun ? 'dry-run' : 'delete';
  storageMetrics.gcRuns.inc({ result: details.failed ? 'failed' : 'completed', mode });
  if (report && !details.dryRun) {
    const count = (value: readonly unknown[] | number) => (typeof value === 'number' ? value : value.length);
    storageMetrics.gcReclaimedBytes.inc(Math.max(0, report.bytesReclaimed));
    storageMetrics.gcDeletedBlobs.inc(count(report.blobsDeleted));
    storageMetrics.gcDeletedManifests.inc(count(report.manifestsDeleted));
  }
  if (details.durationMs !== undefined) storageMetrics.gcDuration.observe(details.durationMs / 1000);
  storageMetrics.gcLastRun.set(Date.now() / 1000);
}

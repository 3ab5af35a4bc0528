// Starts the storage service from the configuration: the filesystem driver under the root
// directory, the OCI API on the storage address (loopback or a unix socket by default), and
// the upload purger.
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { displayUrl, parseListenAddress } from '../common/config/address.js';
import type { RegistryConfig } from '../common/config/types.js';
import { listenOn } from '../common/listen.js';
import type { Logger } from '../common/logger.js';
import type { RunningServer } from '../common/running-server.js';
import { createStorageApp } from './app.js';
import { checkOnlyGatewayCanReach } from './boundary.js';
import type { StorageDriver } from './driver/driver.js';
import { FilesystemDriver } from './driver/filesystem.js';
import type { S3Driver } from './driver/s3.js';
import { paths, REPOSITORIES } from './registry/paths.js';
import { Notifier } from './notifications/notifier.js';
import { loggedOutSessionPaths } from './logged-out-sessions.js';
import { ProxyCache } from './proxy-cache/proxy-cache.js';
import { Registry } from './registry/registry.js';
import { purgeUploads } from './registry/upload-purger.js';
import { ConnectionDrain } from '../common/drain.js';
import { collectProcessMetrics } from '../common/metrics.js';
import { instrumentDriver } from './driver/instrumented.js';
import { storageInternalPaths } from './health.js';
import { countUploadsFrom, driverObserver, recordGcRun, storageRegistry } from './metrics.js';
import { collectGarbage, onGcRun, type GcOptions, type GcReport } from './registry/garbage-collector.js';
import { openControlSocket } from './control-socket.js';

const STALLED_TRANSFER_MS = 120_000;

/** `registry storage`: runStorage, once it is sure only the gateway can reach it. */
export async function runStorageService(config: RegistryConfig, logger: Logger): Promise<RunningServer> {
  await checkOnlyGatewayCanReach(config.storageservice);
  return runStorage(config, logger);
}

export async function runStorage(config: RegistryConfig, logger: Logger): Promise<RunningServer> {
  const s3 = config.storage.driver === 's3' ? config.storage.s3 : undefined;
  const root = s3 ? `s3://${s3.bucket}/${s3.rootdirectory.replace(/^\/+/, '')}` : config.storage.filesystem.rootdirectory;
  let driver: StorageDriver;
  let filesystem: FilesystemDriver | undefined;
  let s3Driver: S3Driver | undefined;
  if (s3) {
    // Loaded only for S3: the AWS SDK costs a filesystem storage ~20 MB of memory for nothing.
    const { S3Driver } = await import('./driver/s3.js');
    driver = s3Driver = new S3Driver(s3);
  } else {
    mkdirSync(root, { recursive: true });
    driver = filesystem = new FilesystemDriver(root);
  }
  const metricsEnabled = config.http.debug?.prometheus.enabled ?? false;
  if (metricsEnabled) collectProcessMetrics(storageRegistry);
  // The registry logic works through the instrumented driver; sweeping and purging, which are
  // the driver's own housekeeping, through the plain one.
  const measured = metricsEnabled ? instrumentDriver(driver, driverObserver) : driver;
  const registry = new Registry(measured, {
    maxUploads: config.storageservice.maxuploads,
    maxUploadsPerClient: config.storageservice.maxuploadsperclient,
  });
  const endpoints = config.notifications?.endpoints ?? [];
  const notifier = endpoints.length > 0 ? new Notifier(endpoints, logger, config.http.addr, config.http.host) : undefined;
  const proxy = config.proxy ? new ProxyCache(config.proxy.remotes, registry, logger.child({ component: 'proxy-cache' })) : undefined;
  if (proxy) logger.info({ upstreams: config.proxy!.remotes.map((r) => ({ prefix: r.prefix, remoteurl: r.remoteurl })) }, 'pull-through cache');
  const app = createStorageApp({
    registry,
    logger,
    notifier,
    proxy,
    options: {
      deleteEnabled: config.storage.delete.enabled,
      readOnly: config.storage.maintenance.readonly.enabled,
      relativeUrls: config.http.relativeurls,
      externalBaseUrl: config.http.host,
      internalToken: config.storageservice.token ?? config.http.secret,
      redirect: s3 !== undefined && config.storage.redirect,
    },
  }, [
    storageInternalPaths({ driver: measured, readOnly: config.storage.maintenance.readonly.enabled, metricsEnabled, draining: () => connections.isDraining }),
    loggedOutSessionPaths(measured),
  ]);
  countUploadsFrom(() => registry.uploads.openSessions());
  const connections = new ConnectionDrain();

  // Idle sockets past headersTimeout are looked for every second, not every 30 s (Node's default).
  const callback = app.callback();
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    connections.track(req, res);
    void callback(req, res);
  });
  connections.watch(server);
  // Layers take as long as they take: no request timeout; idle keep-alive outlives the gateway's.
  // But a transfer that moves no byte for two minutes is dead (a client whose network dropped):
  // closing it frees its upload session for the client's resume.
  server.requestTimeout = 0;
  server.timeout = STALLED_TRANSFER_MS;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const url = await listen(server, config.storageservice.addr);

  const stopPurger = schedulePurger(config, driver, logger);
  const gc = gcRunner(config, registry, logger);
  // onGcRun's listeners are module-wide: unsubscribe on close, or every storage started in this
  // process (tests start many) would keep counting each later run once more.
  const stopCountingGc = metricsEnabled
    ? onGcRun((report) => recordGcRun(report, { dryRun: report.dryRun, durationMs: report.markMs + report.sweepMs }))
    : () => undefined;
  // The control socket lives in the data directory (only who can write there may ask for a
  // collection); over S3 there is none, and `registry gc` works on the bucket itself.
  const control = filesystem
    ? await openControlSocket(root, { registry, collect: gc.collect }, logger).catch((err: unknown) => {
        logger.warn({ err }, 'no control socket: `registry gc` cannot reach this process');
        return undefined;
      })
    : undefined;
  logger.info({ url, root }, 'storage listening');
  // S3 writes are atomic (a PUT or a completed multipart upload): no temporary files to sweep.
  const sweep = filesystem ? sweepTemporaryFiles(filesystem, logger) : { stop: async () => undefined };
  // Each step of a stop is logged at debug level: a stop that hangs says where.
  const close = async () => {
    stopPurger();
    stopCountingGc();
    control?.close();
    logger.debug('stopping: waiting for a garbage collection under way');
    await gc.stop();
    logger.debug('stopping: waiting for the temporary file sweep');
    await sweep.stop();
    logger.debug('stopping: closing the listener and its connections');
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    logger.debug('stopping: delivering queued notifications');
    await notifier?.close();
    s3Driver?.client.destroy();
  };
  return {
    urls: [url],
    close,
    // Storage keeps listening while it drains: the gateway, draining too, may need a new pooled
    // connection for a request on a client connection it still serves. It stops once nothing
    // has been asked of it for a moment (registry start stops the gateway first), or at the timeout.
    async drain(timeoutMs: number) {
      await connections.drain({ timeoutMs, keepListening: true });
      logger.debug({ activeRequests: connections.activeRequests }, 'stopping: drained');
      await close();
    },
  };
}

async function listen(server: Server, addr: string): Promise<string> {
  const address = parseListenAddress(addr);
  await listenOn(server, address);
  const bound = server.address();
  // Port 0 means "any free port": show the one the system chose.
  if (address.kind === 'tcp' && typeof bound === 'object' && bound) return displayUrl({ ...address, port: bound.port }, 'http');
  return displayUrl(address, 'http');
}

const SWEEP_MAX_ENTRIES = 2_000_000;
const SWEEP_CONCURRENCY = 8;

/**
 * A process killed between writing a small file and renaming it leaves `<file>.tmp-<hex>` behind;
 * nothing else would ever remove it. Swept once at start-up, in the background so a big data
 * directory does not delay listening (the driver skips the temp files it is writing meanwhile).
 */
function sweepTemporaryFiles(driver: FilesystemDriver, logger: Logger): { stop: () => Promise<void> } {
  let stopped = false;
  const started = Date.now();
  const done = driver
    .sweepTemporaryFiles([paths.blobsRoot(), REPOSITORIES], { maxEntries: SWEEP_MAX_ENTRIES, concurrency: SWEEP_CONCURRENCY, stopped: () => stopped })
    .then(
      (result) => {
        const fields = { removed: result.removed.length, entries: result.entries, ms: Date.now() - started, incomplete: result.incomplete };
        if (result.removed.length > 0) logger.warn({ ...fields, files: result.removed.slice(0, 20) }, 'removed temporary files left by an interrupted write');
        else logger.info(fields, 'no temporary files left by an interrupted write');
      },
      (err: unknown) => logger.error({ err }, 'sweeping temporary files failed'),
    );
  return {
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

function schedulePurger(config: RegistryConfig, driver: StorageDriver, logger: Logger): () => void {
  const purging = config.storage.maintenance.uploadpurging;
  if (!purging.enabled) return () => undefined;
  const run = () => {
    purgeUploads(driver, { olderThan: new Date(Date.now() - purging.ageMs), dryRun: purging.dryrun }, logger).catch(
      (err: unknown) => logger.error({ err }, 'upload purge failed'),
    );
  };
  // registry:2 waits a little after start-up before the first purge.
  const first = setTimeout(run, 60_000);
  const every = setInterval(run, purging.intervalMs);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}

/**
 * Garbage collection inside this process: on demand (the control socket) and, when
 * storage.maintenance.gc.interval is set, on a schedule. Runs never overlap (GcGate.exclusive);
 * a scheduled run that fails is logged and the next one tries again.
 */
function gcRunner(config: RegistryConfig, registry: Registry, logger: Logger) {
  const { gc, retention } = config.storage.maintenance;
  const gcLogger = logger.child({ component: 'gc' });
  const collect = (options: Pick<GcOptions, 'dryRun' | 'deleteUntagged'>): Promise<GcReport> =>
    collectGarbage(registry, { ...options, gracePeriodMs: gc.gracePeriodMs, retention }, gcLogger);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // The collection's guard against racing pushes is in this process (gc-gate.ts): over a bucket
  // other replicas write to, a sweep here could delete a blob another replica is linking.
  const scheduled = gc.intervalMs !== undefined && config.storage.driver !== 's3';
  if (gc.intervalMs !== undefined && !scheduled) {
    gcLogger.warn('storage.maintenance.gc.interval is ignored over S3: replicas do not coordinate a collection yet (docs/garbage-collection.md); run `registry gc` with pushes stopped');
  }
  const schedule = () => {
    if (stopped || !scheduled) return;
    timer = setTimeout(() => {
      collect({ dryRun: false, deleteUntagged: false })
        .catch((err: unknown) => {
          recordGcRun(undefined, { failed: true });
          gcLogger.error({ err }, 'scheduled garbage collection failed');
        })
        .finally(schedule);
    }, gc.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    collect,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await registry.gate.idle();
    },
  };
}

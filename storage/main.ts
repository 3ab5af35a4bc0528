// Starts the storage service from the configuration: the filesystem driver under the root
// directory, the OCI API on the storage address (loopback or a unix socket by default), and
// the upload purger.
import { createServer, type Server } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import type { RegistryConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import type { RunningServer } from '../common/running-server.js';
import { createStorageApp } from './app.js';
import { FilesystemDriver } from './driver/filesystem.js';
import { Registry } from './registry/registry.js';
import { purgeUploads } from './registry/upload-purger.js';

export async function runStorage(config: RegistryConfig, logger: Logger): Promise<RunningServer> {
  const root = config.storage.filesystem.rootdirectory;
  mkdirSync(root, { recursive: true });
  const driver = new FilesystemDriver(root);
  const registry = new Registry(driver);
  const app = createStorageApp({
    registry,
    logger,
    options: {
      deleteEnabled: config.storage.delete.enabled,
      readOnly: config.storage.maintenance.readonly.enabled,
      relativeUrls: config.http.relativeurls,
      externalBaseUrl: config.http.host,
      internalToken: config.storageservice.token ?? config.http.secret,
    },
  });

  const server = createServer(app.callback());
  // Layers take as long as they take: no request timeout; idle keep-alive outlives the gateway's.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const url = await listen(server, config.storageservice.addr);

  const stopPurger = schedulePurger(config, driver, logger);
  logger.info({ url, root }, 'storage listening');
  return {
    urls: [url],
    async close() {
      stopPurger();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

async function listen(server: Server, addr: string): Promise<string> {
  if (addr.startsWith('unix:')) {
    const path = addr.slice('unix:'.length);
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    return addr;
  }
  const { host, port } = splitHostPort(addr);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host && host.includes(':') ? `[${host}]` : host ?? '0.0.0.0';
  return `http://${shownHost}:${actualPort}`;
}

export function splitHostPort(addr: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!match) throw new Error(`invalid listen address ${JSON.stringify(addr)} (expected host:port or :port)`);
  const host = match[1] ?? (match[2] || undefined);
  return { host, port: Number(match[3]) };
}

function schedulePurger(config: RegistryConfig, driver: FilesystemDriver, logger: Logger): () => void {
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

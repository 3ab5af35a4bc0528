// The storage service's real HTTP app over a driver the test chooses (e.g. a FaultyDriver over
// the filesystem driver), on a free loopback port: for tests that need to reach below the API.
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createStorageApp } from '../../storage/app.js';
import type { StorageOptions } from '../../storage/http/context.js';
import type { StorageDriver } from '../../storage/driver/driver.js';
import { Registry } from '../../storage/registry/registry.js';
import { silentLogger } from './storage-server.js';

export interface StorageAppServer {
  url: string;
  registry: Registry;
  close(): Promise<void>;
}

export async function serveStorageApp(driver: StorageDriver, options: Partial<StorageOptions> = {}): Promise<StorageAppServer> {
  const registry = new Registry(driver);
  const app = createStorageApp({
    registry,
    logger: silentLogger,
    options: { deleteEnabled: true, readOnly: false, relativeUrls: false, ...options },
  });
  const server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    registry,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The real thing for proxy tests: the storage service (runStorage, temporary root directory,
// free loopback port) with the gateway (runGateway) in front of it.
import { mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryConfig } from '../../../common/config/types.js';
import type { RunningServer } from '../../../common/running-server.js';
import { runGateway, type GatewayOptions } from '../../../gateway/main.js';
import { runStorage } from '../../../storage/main.js';
import { testConfig, type ConfigOverrides } from '../../helpers/config.js';
import { captureLogger, type CapturedLogs } from './capture-logger.js';

const run = promisify(execFile);

export interface Stack {
  gatewayUrl: string;
  gateway: RunningServer;
  storage: RunningServer;
  storageUrl: string;
  gatewayLogs: CapturedLogs;
  storageLogs: CapturedLogs;
  config: RegistryConfig;
  dir: string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Merged into the gateway's config (storageservice.url is filled in). */
  config?: ConfigOverrides;
  /** Users for a real htpasswd file made with `htpasswd -Bbc` (bcrypt): auth is on when given. */
  users?: Record<string, string>;
  /** A token both processes share (storageservice.token). */
  token?: string;
  gatewayOptions?: GatewayOptions;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-stack-'));
  const storageLogs = captureLogger('info');
  const gatewayLogs = captureLogger('debug');
  const storageConfig = testConfig({
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    storageservice: { addr: '127.0.0.1:0', token: options.token },
  });
  const storage = await runStorage(storageConfig, storageLogs.logger);
  const storageUrl = storage.urls[0]!;

  let auth: ConfigOverrides['auth'];
  if (options.users) {
    const path = join(dir, 'htpasswd');
    for (const [index, [user, password]] of Object.entries(options.users).entries()) {
      await run('htpasswd', [index === 0 ? '-Bbc' : '-Bb', path, user, password]);
    }
    auth = { htpasswd: { realm: 'basic-realm', path, refuseinsecure: false } };
  }
  const config = testConfig({
    ...options.config,
    auth: options.config?.auth ?? auth,
    storageservice: { addr: '127.0.0.1:1', url: storageUrl, token: options.token, ...options.config?.storageservice },
  });
  let gateway: RunningServer;
  try {
    gateway = await runGateway(config, gatewayLogs.logger, { closeGraceMs: 1000, ...options.gatewayOptions });
  } catch (err) {
    await storage.close();
    throw err;
  }
  return {
    gatewayUrl: gateway.urls[0]!,
    gateway,
    storage,
    storageUrl,
    gatewayLogs,
    storageLogs,
    config,
    dir,
    async close() {
      await gateway.close();
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

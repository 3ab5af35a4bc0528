// The gateway process: listeners in front of the Koa app that authenticates and proxies to storage.
import type { RegistryConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import type { RunningServer } from '../common/running-server.js';
import { openPolicySource, type PolicySource } from './access/index.js';
import { createHtpasswdAuthenticator, type Authenticator } from './auth/index.js';
import { createGatewayApp } from './app.js';
import { isLoopbackAddress, parseListenAddress } from '../common/config/address.js';
import { startListeners, type ListenerOptions } from './listeners.js';
import { createUpstream } from './upstream.js';

export interface GatewayOptions extends ListenerOptions {
  /** Abort an upstream exchange that moves no byte for this long (default 900 s). */
  upstreamIdleTimeoutMs?: number;
}

export async function runGateway(config: RegistryConfig, logger: Logger, options: GatewayOptions = {}): Promise<RunningServer> {
  const authenticator = await htpasswdAuthenticator(config, logger);
  let accessPolicy: PolicySource | undefined;
  try {
    accessPolicy = config.access ? await openPolicySource(config.access, { logger: logger.child({ component: 'access' }) }) : undefined;
  } catch (err) {
    await authenticator?.close();
    throw err;
  }
  const upstream = createUpstream(config.storageservice);
  try {
    const app = createGatewayApp({
      config,
      logger,
      upstream,
      authenticator,
      accessPolicy,
      upstreamIdleTimeoutMs: options.upstreamIdleTimeoutMs,
      fileHandoff: storageIsLocal(config),
    });
    const listeners = await startListeners(config.http, app.callback(), logger, options);
    logger.info(
      { urls: listeners.urls, storage: upstream.description, auth: authenticator ? 'htpasswd' : 'none', access: accessPolicy?.description ?? 'none' },
      'gateway listening',
    );
    return {
      urls: listeners.urls,
      async close() {
        await listeners.close();
        await authenticator?.close();
        await accessPolicy?.close();
        upstream.close();
      },
    };
  } catch (err) {
    await authenticator?.close();
    await accessPolicy?.close();
    upstream.close();
    throw err;
  }
}

async function htpasswdAuthenticator(config: RegistryConfig, logger: Logger): Promise<Authenticator | undefined> {
  const htpasswd = config.auth?.htpasswd;
  if (!htpasswd) return undefined;
  return createHtpasswdAuthenticator({
    path: htpasswd.path,
    refuseInsecure: htpasswd.refuseinsecure,
    logger: logger.child({ component: 'htpasswd' }),
  });
}

/** Storage on this machine (loopback or a unix socket) may offer file handoff; storage decides whether it does. */
function storageIsLocal(config: RegistryConfig): boolean {
  const { addr, url } = config.storageservice;
  return url === undefined && isLoopbackAddress(parseListenAddress(addr));
}

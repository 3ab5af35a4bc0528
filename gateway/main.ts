// The gateway process: listeners in front of the Koa app that authenticates and proxies to storage.
import type { RegistryConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import type { RunningServer } from '../common/running-server.js';
import { openPolicySource, type PolicySource } from './access/index.js';
import { createHtpasswdAuthenticator, type Authenticator } from './auth/index.js';
import { countingLogins } from './auth/authenticator.js';
import { collectProcessMetrics } from '../common/metrics.js';
import { startDebugServer, type DebugServer } from './debug-server.js';
import { gatewayMetrics, gatewayRegistry } from './metrics.js';
import { Readiness } from './readiness.js';
import { createGatewayApp, DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS } from './app.js';
import { UrlHandoff } from './url-handoff.js';
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
  const internalToken = config.storageservice.token ?? config.http.secret;
  const metrics = config.http.debug?.prometheus.enabled ?? false;
  if (metrics) collectProcessMetrics(gatewayRegistry);
  let draining = false;
  const readiness = new Readiness({
    upstream,
    internalToken,
    logger: logger.child({ component: 'health' }),
    storagedriver: config.health.storagedriver,
    draining: () => draining,
  });
  let debugServer: DebugServer | undefined;
  const urlHandoff = new UrlHandoff(logger, options.upstreamIdleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS);
  try {
    const app = createGatewayApp({
      config,
      logger,
      upstream,
      readiness,
      metrics,
      authenticator: authenticator && countingLogins(authenticator, (result) => gatewayMetrics.logins.inc({ result })),
      accessPolicy,
      upstreamIdleTimeoutMs: options.upstreamIdleTimeoutMs,
      fileHandoff: storageIsLocal(config),
      urlHandoff,
    });
    const listeners = await startListeners(config.http, app.callback(), logger, options);
    if (config.http.debug) {
      try {
        debugServer = await startDebugServer(config.http.debug, { upstream, internalToken }, logger);
      } catch (err) {
        await listeners.close();
        throw new Error(`http.debug.addr: ${(err as Error).message}`, { cause: err });
      }
    }
    logger.info(
      { urls: listeners.urls, storage: upstream.description, auth: authenticator ? 'htpasswd' : 'none', access: accessPolicy?.description ?? 'none' },
      'gateway listening',
    );
    const release = async () => {
      readiness.close();
      await debugServer?.close();
      await authenticator?.close();
      await accessPolicy?.close();
      upstream.close();
      urlHandoff.close();
    };
    return {
      urls: listeners.urls,
      async close() {
        await listeners.close();
        await release();
      },
      async drain(timeoutMs: number) {
        draining = true;
        const started = Date.now();
        logger.info({ timeoutMs }, 'draining: no new connections; requests on open ones are still served');
        await listeners.drain(timeoutMs);
        logger.info({ ms: Date.now() - started }, 'drained');
        await release();
      },
    };
  } catch (err) {
    readiness.close();
    await authenticator?.close();
    await accessPolicy?.close();
    upstream.close();
    urlHandoff.close();
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

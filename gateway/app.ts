// The gateway's Koa app: small middleware, one concern each, in the order a request meets them.
import Koa from 'koa';
import type { RegistryConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import type { PolicySource } from './access/index.js';
import type { Authenticator } from './auth/authenticator.js';
import type { FileHandoff } from './file-handoff.js';
import { accessControl, anonymousAccess } from './middleware/access-control.js';
import { accessLog } from './middleware/access-log.js';
import { basicAuth, basicChallenge } from './middleware/auth.js';
import { bearerAuth, tokenChallenge, tokenEndpoint } from './middleware/token-auth.js';
import { BearerTokens } from './access/bearer-token.js';
import { errorBoundary } from './middleware/error-boundary.js';
import { forwardedHeaders } from './middleware/forwarded.js';
import { proxyToStorage } from './middleware/proxy.js';
import { requestId } from './middleware/request-id.js';
import { responseHeaders } from './middleware/response-headers.js';
import { routes } from './middleware/routes.js';
import type { GatewayState } from './state.js';
import { compileTrust } from './trust.js';
import type { Upstream } from './upstream.js';

/** nginx's proxy_read_timeout in nginx-compat/registry.conf: the same patience for storage. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 900_000;

export interface GatewayAppOptions {
  config: RegistryConfig;
  logger: Logger;
  upstream: Upstream;
  /** Present exactly when `auth.htpasswd` is configured. */
  authenticator?: Authenticator;
  /** Present exactly when `access` (a policy) is configured. */
  accessPolicy?: PolicySource;
  /** Blob downloads sent from the data directory when readable (see file-handoff.ts). */
  fileHandoff?: FileHandoff;
  upstreamIdleTimeoutMs?: number;
}

export function createGatewayApp(options: GatewayAppOptions): Koa<GatewayState> {
  const { config, logger, upstream, authenticator } = options;
  const externalBase = config.http.host ? parseExternalBase(config.http.host) : undefined;
  const app = new Koa<GatewayState>();
  app.silent = true; // errors are answered and logged by errorBoundary

  app.use(accessLog(logger));
  app.use(forwardedHeaders(compileTrust(config.http.trustedproxies), externalBase));
  app.use(requestId());
  app.use(responseHeaders(config.http.headers));
  app.use(errorBoundary(logger));
  app.use(routes());
  const htpasswd = config.auth?.htpasswd;
  // Never fall back to "everyone may do everything" when auth or a policy was asked for.
  const { accessPolicy } = options;
  if (config.access && !accessPolicy) throw new Error('access is configured but no access policy was given');
  if (htpasswd) {
    if (!authenticator) throw new Error('auth.htpasswd is configured but no authenticator was given');
    if (accessPolicy) {
      // docker's token flow, for anonymous pulls by docker (token-auth.ts); Basic keeps working.
      const tokens = new BearerTokens(config.http.secret);
      app.use(tokenEndpoint({ tokens, authenticator, basicChallenge: basicChallenge(htpasswd.realm), logger }));
      app.use(bearerAuth(tokens));
      app.use(basicAuth(authenticator, htpasswd.realm, logger, anonymousAccess(accessPolicy), tokenChallenge(accessPolicy)));
    } else {
      app.use(basicAuth(authenticator, htpasswd.realm, logger));
    }
  }
  if (accessPolicy) {
    app.use(accessControl({ policy: accessPolicy, logger, upstream, internalToken: config.storageservice.token ?? config.http.secret }));
  }
  app.use(
    proxyToStorage({
      upstream,
      internalToken: config.storageservice.token ?? config.http.secret,
      idleTimeoutMs: options.upstreamIdleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
      logger,
      fileHandoff: options.fileHandoff,
    }),
  );
  return app;
}

function parseExternalBase(host: string): URL {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new Error(`http.host: ${JSON.stringify(host)} is not a URL such as https://registry.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`http.host: ${JSON.stringify(host)} must start with http:// or https://`);
  }
  return url;
}

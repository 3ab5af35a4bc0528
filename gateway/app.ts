// The gateway's Koa app: small middleware, one concern each, in the order a request meets them.
import Koa from 'koa';
import { apiVersionHeader } from '../common/api-version.js';
import type { RegistryConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import type { PolicySource } from './access/index.js';
import type { Authenticator } from './auth/authenticator.js';
import { FileHandoff } from './file-handoff.js';
import { UrlHandoff } from './url-handoff.js';
import { FILE_HANDOFF_REQUEST_HEADER, FILE_HANDOFF_ROOT_HEADER, INTERNAL_TOKEN_HEADER } from '../common/internal-headers.js';
import { accessControl, anonymousAccess } from './middleware/access-control.js';
import { accessLog } from './middleware/access-log.js';
import { basicAuth, basicChallenge } from './middleware/auth.js';
import { cors } from './middleware/cors.js';
import { bearerAuth, tokenChallenge, tokenEndpoint } from './middleware/token-auth.js';
import { BearerTokens } from './access/bearer-token.js';
import { errorBoundary } from './middleware/error-boundary.js';
import { forwardedHeaders } from './middleware/forwarded.js';
import { hostHeader } from './middleware/host-header.js';
import { manifestSizeLimit } from './middleware/manifest-size.js';
import { proxyToStorage } from './middleware/proxy.js';
import { requestId } from './middleware/request-id.js';
import { responseHeaders } from './middleware/response-headers.js';
import { routes } from './middleware/routes.js';
import { requestMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import type { GatewayState } from './state.js';
import { compileTrust } from './trust.js';
import { askStorage, type Upstream } from './upstream.js';
import { storageLogouts } from './ui/storage-logouts.js';
import { uiRoutes } from './ui/routes.js';
import { Sessions } from './ui/session.js';
import { sessionAuth } from './ui/session-auth.js';

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
  /** Storage runs on this machine: ask it for file handoff of blob downloads (see file-handoff.ts). */
  fileHandoff?: boolean;
  /** The bucket's answers for URL handoff (url-handoff.ts); default one per app, never turned off. */
  urlHandoff?: UrlHandoff;
  upstreamIdleTimeoutMs?: number;
  /** Answers /readyz (and registry:2's health gate); without it /readyz is 404. */
  readiness?: Readiness;
  /** Count requests for Prometheus (gateway/metrics.ts): on with http.debug.prometheus.enabled. */
  metrics?: boolean;
  /** The web UI's built files (tests); default dist/gateway/ui/web/. */
  uiAssetsDir?: string;
}

export function createGatewayApp(options: GatewayAppOptions): Koa<GatewayState> {
  const { config, logger, upstream, authenticator } = options;
  const externalBase = config.http.host ? parseExternalBase(config.http.host) : undefined;
  const app = new Koa<GatewayState>();
  app.silent = true; // errors are answered and logged by errorBoundary

  app.use(accessLog(logger));
  if (options.metrics) app.use(requestMetrics());
  app.use(forwardedHeaders(compileTrust(config.http.trustedproxies), externalBase));
  app.use(requestId());
  app.use(apiVersionHeader);
  app.use(responseHeaders(config.http.headers));
  app.use(cors({ allowedOrigins: config.http.cors.allowedorigins }));
  app.use(hostHeader());
  app.use(errorBoundary(logger));
  const htpasswd = config.auth?.htpasswd;
  // Never fall back to "everyone may do everything" when auth or a policy was asked for.
  const { accessPolicy } = options;
  if (config.access && !accessPolicy) throw new Error('access is configured but no access policy was given');
  if (htpasswd && !authenticator) throw new Error('auth.htpasswd is configured but no authenticator was given');
  const internalToken = config.storageservice.token ?? config.http.secret;
  // The web UI's login sessions: signed with http.secret (shared by replicas) or a per-process
  // key; logouts kept by storage, for every replica.
  const sessions =
    config.ui.enabled && htpasswd && authenticator
      ? new Sessions({
          secret: config.http.secret,
          accountStamp: (user) => (authenticator.accountStamp ? authenticator.accountStamp(user) : ''),
          shared: storageLogouts(upstream, internalToken),
        })
      : undefined;
  if (config.ui.enabled) {
    app.use(uiRoutes({ sessions, authenticator, policy: accessPolicy, deleteEnabled: config.storage.delete.enabled, logger, assetsDir: options.uiAssetsDir }));
  }
  app.use(routes(options.readiness));
  if (htpasswd && authenticator) {
    if (accessPolicy) {
      // docker's token flow, for anonymous pulls by docker (token-auth.ts); Basic keeps working.
      const tokens = new BearerTokens(config.http.secret);
      app.use(tokenEndpoint({ tokens, authenticator, basicChallenge: basicChallenge(htpasswd.realm), logger }));
      app.use(bearerAuth(tokens));
      if (sessions) app.use(sessionAuth(sessions));
      app.use(basicAuth(authenticator, htpasswd.realm, logger, anonymousAccess(accessPolicy), tokenChallenge(accessPolicy)));
    } else {
      if (sessions) app.use(sessionAuth(sessions));
      app.use(basicAuth(authenticator, htpasswd.realm, logger));
    }
  }
  if (accessPolicy) app.use(accessControl({ policy: accessPolicy, logger, upstream, internalToken }));
  app.use(manifestSizeLimit());
  const idleTimeoutMs = options.upstreamIdleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS;
  app.use(
    proxyToStorage({
      upstream,
      internalToken,
      idleTimeoutMs,
      logger,
      fileHandoff: options.fileHandoff ? fileHandoffFrom(upstream, internalToken, logger) : undefined,
      urlHandoff: options.urlHandoff ?? new UrlHandoff(logger, idleTimeoutMs),
    }),
  );
  return app;
}

/** File handoff as storage offers it: storage names the directory on `GET /v2/` when asked. */
function fileHandoffFrom(upstream: Upstream, internalToken: string | undefined, logger: Logger): FileHandoff {
  const headers: Record<string, string> = { [FILE_HANDOFF_REQUEST_HEADER]: '1' };
  if (internalToken) headers[INTERNAL_TOKEN_HEADER] = internalToken;
  const askRoot = async (): Promise<string | undefined> => {
    const root = (await askStorage(upstream, '/v2/', headers))[FILE_HANDOFF_ROOT_HEADER];
    return typeof root === 'string' ? root : undefined;
  };
  return new FileHandoff({ askRoot, logger });
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

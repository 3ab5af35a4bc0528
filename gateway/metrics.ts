// The gateway's metrics: requests by route (the route names of common/v2-routes.ts, never a
// repository name, so the label values stay a short fixed list), method and status, their
// latency, the bytes each way, logins, the credential cache and access denials. Counted here;
// served by the debug listener (debug-server.ts) when `http.debug.prometheus.enabled` is set.
import { Counter, Gauge, Histogram } from 'prom-client';
import { createMetricsRegistry } from '../common/metrics.js';
import { scopeOf } from '../common/v2-scope.js';
import { HEALTH_PATH, READY_PATH } from './middleware/routes.js';
import { TOKEN_PATH } from './middleware/token-auth.js';
import type { GatewayMiddleware } from './state.js';

export const gatewayRegistry = createMetricsRegistry('gateway');
const registers = [gatewayRegistry];

export const gatewayMetrics = {
  requests: new Counter({
    name: 'registry_http_requests_total',
    help: 'HTTP requests answered by the gateway, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  }),
  duration: new Histogram({
    name: 'registry_http_request_duration_seconds',
    help: 'Time from the request to the end of its answer (the whole body for blobs), by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  }),
  received: new Counter({
    name: 'registry_http_received_bytes_total',
    help: 'Request body bytes received from clients (and passed on to storage), by route',
    labelNames: ['route'] as const,
    registers,
  }),
  sent: new Counter({
    name: 'registry_http_sent_bytes_total',
    help: 'Response body bytes sent to clients, by route',
    labelNames: ['route'] as const,
    registers,
  }),
  inFlight: new Gauge({
    name: 'registry_http_requests_in_flight',
    help: 'Requests being answered now, by route',
    labelNames: ['route'] as const,
    registers,
  }),
  logins: new Counter({
    name: 'registry_auth_logins_total',
    help: 'Credential checks (every request with Basic credentials, every token request): accepted, refused or throttled',
    labelNames: ['result'] as const,
    registers,
  }),
  credentialCache: new Counter({
    name: 'registry_auth_credential_cache_total',
    help: 'Credential checks answered from the verified-password cache (hit) or by a password hash check (miss)',
    labelNames: ['result'] as const,
    registers,
  }),
  accessDenials: new Counter({
    name: 'registry_access_denials_total',
    help: 'Requests refused by the access policy (403 DENIED), by the action that was refused',
    labelNames: ['action'] as const,
    registers,
  }),
  storageUp: new Gauge({
    name: 'registry_storage_up',
    help: '1 when the last readiness check of storage (reachable, driver answering, data directory writable) passed, else 0',
    registers,
  }),
  storageScrapeUp: new Gauge({
    name: 'registry_storage_scrape_up',
    help: "1 when storage's own metrics could be read for this scrape, else 0",
    registers,
  }),
};

// Initialised at 0, so a rate() sees the first event.
for (const result of ['accepted', 'refused', 'throttled']) gatewayMetrics.logins.inc({ result }, 0);
for (const result of ['hit', 'miss']) gatewayMetrics.credentialCache.inc({ result }, 0);

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** The route label: a route name of the /v2 table, or one of a few names for the gateway's own paths. */
export function routeLabel(method: string, path: string): string {
  if (path === TOKEN_PATH) return 'token';
  const scope = scopeOf(method, path);
  if (scope) return scope.route;
  if (path === '/v2' || path.startsWith('/v2/')) return 'v2-other';
  if (path === '/') return 'root';
  if (path === HEALTH_PATH) return 'healthz';
  if (path === READY_PATH) return 'readyz';
  return 'other';
}

/** A metric's child for one label set, looked up once (prom-client hashes the labels on every call otherwise). */
function cached<T>(make: (key: string) => T): (key: string) => T {
  const children = new Map<string, T>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = make(key)));
    return child;
  };
}

// Keys are `route method` (+ ` status`): all three come from short fixed lists, so these stay small.
const requestCounter = cached((key) => gatewayMetrics.requests.labels(...(key.split(' ') as [string, string, string])));
const durationOf = cached((key) => gatewayMetrics.duration.labels(...(key.split(' ') as [string, string])));
const inFlightOf = cached((route) => gatewayMetrics.inFlight.labels(route));
const receivedOf = cached((route) => gatewayMetrics.received.labels(route));
const sentOf = cached((route) => gatewayMetrics.sent.labels(route));

/** Counts each request when its answer is done; placed right inside the access log. */
export function requestMetrics(): GatewayMiddleware {
  return async (ctx, next) => {
    const route = routeLabel(ctx.method, ctx.path);
    const method = METHODS.has(ctx.method) ? ctx.method : 'other';
    const started = process.hrtime.bigint();
    const inFlight = inFlightOf(route);
    inFlight.inc();
    try {
      await next();
    } finally {
      inFlight.dec();
      durationOf(`${route} ${method}`).observe(Number(process.hrtime.bigint() - started) / 1e9);
      const proxied = ctx.respond === false;
      const status = proxied ? ctx.res.statusCode : ctx.status;
      requestCounter(`${route} ${method} ${status}`).inc();
      const received = ctx.state.bytesReceived ?? 0;
      if (received > 0) receivedOf(route).inc(received);
      const sent = proxied ? ctx.state.bytesSent ?? 0 : ctx.method === 'HEAD' ? 0 : ctx.response.length ?? 0;
      if (sent > 0) sentOf(route).inc(sent);
    }
  };
}

// What the gateway answers itself: `/` (200, empty, as registry:2 does), a health endpoint, and
// 404 with an OCI error body for anything outside `/v2`. `/v2` requests go on to auth and proxy.
import { respondWithError } from '../oci-response.js';
import type { Readiness } from '../readiness.js';
import type { GatewayMiddleware } from '../state.js';

/** Alive: the process answers (a liveness probe). */
export const HEALTH_PATH = '/healthz';
/** Ready: storage reachable, its driver answering, the data directory writable, not draining (gateway/readiness.ts). */
export const READY_PATH = '/readyz';

/** Probes are not worth an info line each (access-log.ts logs them at debug). */
export function isProbePath(path: string): boolean {
  return path === HEALTH_PATH || path === READY_PATH;
}

export function isV2Path(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/');
}

export function routes(readiness?: Readiness): GatewayMiddleware {
  return async (ctx, next) => {
    // A tunnel request (listeners.ts hands it over): no path of a registry serves it, and it must
    // never reach storage, which would drop the connection (502).
    if (ctx.method === 'CONNECT') {
      respondWithError(ctx, 'UNSUPPORTED', { status: 405, message: 'method CONNECT not allowed' });
      return;
    }
    if (isV2Path(ctx.path)) {
      // registry:2 with health.storagedriver.enabled: while the check fails, every request gets 503.
      if (readiness?.unhealthy) {
        respondWithError(ctx, 'UNAVAILABLE', { status: 503, message: 'storage is unhealthy', headers: { 'Retry-After': '10' } });
        return;
      }
      return next();
    }
    const readOnly = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (ctx.path === '/' && readOnly) {
      ctx.status = 200;
      ctx.body = '';
      ctx.remove('Content-Type');
      ctx.set('Cache-Control', 'no-cache');
      return;
    }
    if (ctx.path === HEALTH_PATH && readOnly) {
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === READY_PATH && readOnly && readiness) {
      const report = await readiness.report();
      ctx.set('Cache-Control', 'no-cache');
      ctx.status = report.status === 'ok' ? 200 : 503;
      ctx.body = report;
      return;
    }
    // No NOT_FOUND code exists in the OCI spec; UNSUPPORTED names the situation best.
    respondWithError(ctx, 'UNSUPPORTED', { status: 404, message: 'page not found', detail: { path: ctx.path } });
  };
}

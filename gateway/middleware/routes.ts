// What the gateway answers itself: `/` (200, empty, as registry:2 does), a health endpoint, and
// 404 with an OCI error body for anything outside `/v2`. `/v2` requests go on to auth and proxy.
import { respondWithError } from '../oci-response.js';
import type { GatewayMiddleware } from '../state.js';

export const HEALTH_PATH = '/healthz';

export function isV2Path(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/');
}

export function routes(): GatewayMiddleware {
  return async (ctx, next) => {
    // A tunnel request (listeners.ts hands it over): no path of a registry serves it, and it must
    // never reach storage, which would drop the connection (502).
    if (ctx.method === 'CONNECT') {
      respondWithError(ctx, 'UNSUPPORTED', { status: 405, message: 'method CONNECT not allowed' });
      return;
    }
    if (isV2Path(ctx.path)) return next();
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
    // No NOT_FOUND code exists in the OCI spec; UNSUPPORTED names the situation best.
    respondWithError(ctx, 'UNSUPPORTED', { status: 404, message: 'page not found', detail: { path: ctx.path } });
  };
}

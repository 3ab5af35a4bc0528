// CORS for UIs on other origins (Joxit's docker-registry-ui and the like), before auth:
// - a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered 204 here,
//   without credentials (browsers never send any on a preflight); registry:2 answers it 401 when
//   auth is on (distribution #4458), which breaks every non-simple request of such a UI;
// - an allowed Origin (`http.cors.allowedorigins`) is echoed with Allow-Credentials on every
//   response, 401s and errors included (a UI reads the 401 to retry with credentials), and the
//   headers a client needs are exposed;
// - any other Origin gets no CORS header at all from `http.cors` (`Vary: Origin` only), and its
//   preflight goes on to auth like any request (401), as when no CORS is configured: only a
//   registry that allows some origin answers a preflight without credentials.
// Without `http.cors`, the `Access-Control-*` headers of `http.headers` (registry:2's way) are
// left as configured, and preflights are answered 204 with them when they allow an origin. With both, `http.cors`
// decides: the `Access-Control-*` headers of `http.headers` are dropped.
// The UI's own routes (/ui/) never get CORS headers: its session API is for its own origin only.
import type { GatewayMiddleware } from '../state.js';

export const CORS_ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
export const CORS_ALLOWED_HEADERS = 'Authorization, Accept, Content-Type, Content-Length, Content-Range, Range, Cache-Control, Docker-Content-Digest';
export const CORS_EXPOSED_HEADERS =
  'Docker-Content-Digest, Docker-Distribution-API-Version, Docker-Upload-UUID, Link, Location, Range, Content-Range, Content-Length, OCI-Subject, OCI-Filters-Applied, WWW-Authenticate, Retry-After, ETag';
/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 7200;

export interface CorsOptions {
  allowedOrigins: readonly string[];
}

export function isPreflight(method: string, headers: { get(name: string): string }): boolean {
  return method === 'OPTIONS' && headers.get('origin') !== '' && headers.get('access-control-request-method') !== '';
}

export function cors({ allowedOrigins }: CorsOptions): GatewayMiddleware {
  const allowed = new Set(allowedOrigins);
  const configured = allowed.size > 0;
  return async (ctx, next) => {
    const preflight = isPreflight(ctx.method, { get: (name) => ctx.get(name) });
    let answerPreflight = !configured && Boolean(ctx.response.get('Access-Control-Allow-Origin'));
    if (configured) {
      // http.cors decides: whatever http.headers said about CORS goes.
      for (const name of Object.keys(ctx.response.headers)) {
        if (name.toLowerCase().startsWith('access-control-')) ctx.remove(name);
      }
      ctx.vary('Origin');
      const origin = ctx.get('origin');
      if (allowed.has(origin) && !ctx.path.startsWith('/ui/')) {
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Allow-Credentials', 'true');
        if (preflight) {
          answerPreflight = true;
          ctx.set('Access-Control-Allow-Methods', CORS_ALLOWED_METHODS);
          ctx.set('Access-Control-Allow-Headers', CORS_ALLOWED_HEADERS);
          ctx.set('Access-Control-Max-Age', String(CORS_MAX_AGE_SECONDS));
        } else {
          ctx.set('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
        }
      }
    }
    if (preflight && answerPreflight) {
      // Nothing happens on a preflight: answering it without credentials reveals nothing.
      ctx.status = 204;
      ctx.body = null;
      return;
    }
    await next();
  };
}

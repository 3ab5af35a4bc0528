// Headers on every response, including the proxied ones: the API version header registry:2
// sends and the configured `http.headers` (e.g. X-Content-Type-Options: nosniff). Set on the
// Node response up front, so the proxy's copy of storage's headers only adds to them.
import type { GatewayMiddleware } from '../state.js';

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
export const API_VERSION = 'registry/2.0';

export function responseHeaders(configured: Record<string, string[]>): GatewayMiddleware {
  const extra = Object.entries(configured).filter(([, values]) => values.length > 0);
  return async (ctx, next) => {
    ctx.set(API_VERSION_HEADER, API_VERSION);
    for (const [name, values] of extra) ctx.set(name, values.length === 1 ? values[0]! : values);
    await next();
  };
}

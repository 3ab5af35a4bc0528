// The configured `http.headers` (e.g. X-Content-Type-Options: nosniff) on every response,
// including the proxied ones: set on the Node response up front, so the proxy's copy of
// storage's headers only adds to them.
import type { GatewayMiddleware } from '../state.js';

export function responseHeaders(configured: Record<string, string[]>): GatewayMiddleware {
  const extra = Object.entries(configured).filter(([, values]) => values.length > 0);
  return async (ctx, next) => {
    for (const [name, values] of extra) ctx.set(name, values.length === 1 ? values[0]! : values);
    await next();
  };
}

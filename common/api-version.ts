// `Docker-Distribution-API-Version: registry/2.0` on every response, errors included: clients
// use it to recognise a v2 registry. Both processes send it (storage answers alone in tests and
// benchmarks; the gateway also answers by itself).
import type { Context, Next } from 'koa';

export async function apiVersionHeader(ctx: Context, next: Next): Promise<void> {
  ctx.set('Docker-Distribution-API-Version', 'registry/2.0');
  await next();
}

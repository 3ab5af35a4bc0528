// `Docker-Distribution-API-Version: registry/2.0` on every response, errors included: clients
// use it to recognise a v2 registry.
import type { Context, Next } from 'koa';

export async function apiVersionHeader(ctx: Context, next: Next): Promise<void> {
  ctx.set('Docker-Distribution-API-Version', 'registry/2.0');
  await next();
}

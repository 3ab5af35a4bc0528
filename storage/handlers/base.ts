// `GET /v2/`: the API version check every client starts with.
import type { Context } from 'koa';

export function apiVersionCheck(ctx: Context): void {
  ctx.type = 'application/json';
  ctx.body = '{}';
}

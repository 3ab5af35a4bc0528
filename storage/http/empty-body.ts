// Answers that carry no body. Koa fills a body-less 201/202 with its status text ("Created",
// "Accepted") as text/plain, so a `Content-Length: 0` set beforehand was a lie; registry:2 and
// the spec's examples send these answers empty.
import type { Context } from 'koa';

export function emptyBody(ctx: Context): void {
  ctx.body = '';
  ctx.remove('Content-Type');
}

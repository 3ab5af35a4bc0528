// The one way both processes write an OCI error, exactly as registry:2 does (distribution's
// errcode.ServeJSON): `application/json; charset=utf-8`, the body as JSON with a trailing newline
// (Go's json.Encoder), the error's status and extra headers.
import type { Context } from 'koa';
import type { RegistryError } from './errors.js';

export const ERROR_CONTENT_TYPE = 'application/json; charset=utf-8';

export function respondWithRegistryError(ctx: Pick<Context, 'status' | 'type' | 'body' | 'set'>, error: RegistryError): void {
  ctx.status = error.status;
  ctx.set(error.headers);
  ctx.type = ERROR_CONTENT_TYPE;
  ctx.body = JSON.stringify(error.toBody()) + '\n';
}

// Turns every failure into an OCI error body with the right status. A 5xx only for a real
// fault (a full disk included), never for bad input; a client that went away gets nothing.
import type { Context, Next } from 'koa';
import { respondWithRegistryError } from '../../common/error-response.js';
import { isRegistryError, RegistryError } from '../../common/errors.js';
import { InvalidPathError } from '../driver/driver.js';
import type { Logger } from '../../common/logger.js';

const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EPIPE']);
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new RegistryError('UNSUPPORTED', 'no such endpoint', { method: ctx.method, path: ctx.path }, { status: 404 });
      }
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
        throw new RegistryError('UNSUPPORTED', `method ${ctx.method} not allowed here`, undefined, { status: ctx.status });
      }
    } catch (err) {
      const error = classify(err);
      if (!error) {
        logger.info({ reqId: ctx.state.requestId, path: ctx.path }, 'client went away');
        ctx.respond = false;
        ctx.req.destroy();
        return;
      }
      if (error.status >= 500) logger.error({ err, reqId: ctx.state.requestId, path: ctx.path }, error.message);
      respondWithRegistryError(ctx, error);
      // A request body the handler never read must not be left on a keep-alive connection.
      if (!ctx.req.readableEnded) ctx.set('Connection', 'close');
    }
  };
}

function classify(err: unknown): RegistryError | undefined {
  if (isRegistryError(err)) return err;
  if (err instanceof InvalidPathError) return new RegistryError('NAME_INVALID', 'invalid name or reference');
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && CLIENT_GONE.has(code)) return undefined;
  if ((err as Error | undefined)?.message === 'aborted') return undefined;
  if (code && DISK_FULL.has(code)) {
    return new RegistryError('UNAVAILABLE', 'storage is full: nothing was stored', undefined, { status: 507 });
  }
  return new RegistryError('UNKNOWN', 'internal error');
}


// Turns every failure into an OCI error body with the right status. A 5xx only for a real
// fault (a full disk included), never for bad input; a client that went away gets nothing.
import type { Context, Next } from 'koa';
import { respondWithRegistryError } from '../../common/error-response.js';
import { isRegistryError, RegistryError } from '../../common/errors.js';
import { InvalidPathError } from '../driver/driver.js';
import { discardAfterAnswer } from './body.js';
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
        // The router answers 501 to a method it does not know at all (PROPFIND, TRACE): that is
        // the client's mistake, not a server fault, so 405 with the route's Allow, as for a
        // known method the route does not serve; 404 where no route matches the path at all.
        const allow = ctx.response.get('Allow');
        if (!allow) throw new RegistryError('UNSUPPORTED', 'no such endpoint', { method: ctx.method, path: ctx.path }, { status: 404 });
        throw new RegistryError('UNSUPPORTED', `method ${ctx.method} not allowed here`, undefined, { status: 405, headers: { Allow: allow } });
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
      discardAfterAnswer(ctx.req, ctx.res);
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


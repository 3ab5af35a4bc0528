// Anything unexpected becomes an OCI error body (UNKNOWN, 500) that keeps the standard headers,
// instead of Koa's plain-text default, and is logged with the request id.
import type { Logger } from '../../common/logger.js';
import { isRegistryError } from '../../common/errors.js';
import { respondWithRegistryError } from '../../common/error-response.js';
import { respondWithError } from '../oci-response.js';
import type { GatewayMiddleware } from '../state.js';

export function errorBoundary(logger: Logger): GatewayMiddleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (ctx.respond === false || ctx.headerSent) {
        logger.error({ err, requestId: ctx.state.requestId }, 'error after the response started');
        ctx.res.destroy();
        return;
      }
      if (isRegistryError(err)) {
        respondWithRegistryError(ctx, err);
        return;
      }
      logger.error({ err, requestId: ctx.state.requestId }, 'unexpected gateway error');
      respondWithError(ctx, 'UNKNOWN');
    }
  };
}

// One log line per request that changes something (reads at debug level: the gateway's access
// log already has them), tagged with the request id the gateway generated.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { INTERNAL_USER_HEADER, REQUEST_ID_HEADER, decodeUserHeader } from '../../common/internal-headers.js';
import type { Logger } from '../../common/logger.js';
import { READ_METHODS } from '../../common/v2-routes.js';

export function requestLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    ctx.state.requestId = ctx.get(REQUEST_ID_HEADER) || randomUUID();
    try {
      await next();
    } finally {
      const level = READ_METHODS.has(ctx.method) ? 'debug' : 'info';
      if (logger.isLevelEnabled(level)) {
        logger[level](
          {
            reqId: ctx.state.requestId,
            method: ctx.method,
            path: ctx.path,
            status: ctx.status,
            user: ctx.get(INTERNAL_USER_HEADER) ? decodeUserHeader(ctx.get(INTERNAL_USER_HEADER)) : undefined,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'request',
        );
      }
    }
  };
}

// One JSON line per request. Only the path and a redacted query string are logged (upload URLs
// carry state in the query), with the real client address and user; never the Authorization
// header or a password.
import type { Logger } from '../../common/logger.js';
import type { GatewayMiddleware } from '../state.js';
import { isProbePath } from './routes.js';

/** Query parameters whose values are safe and useful in a log line. */
const LOGGABLE_QUERY_KEYS = new Set(['digest', 'mount', 'from', 'n', 'last', 'artifactType']);

export function accessLog(logger: Logger): GatewayMiddleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const { state, res } = ctx;
      const proxied = ctx.respond === false;
      // Kubernetes probes every few seconds: their lines would drown the real requests.
      const level = isProbePath(ctx.path) ? 'debug' : 'info';
      if (logger.isLevelEnabled(level)) logger[level](
        {
          requestId: state.requestId,
          method: ctx.method,
          path: ctx.path,
          query: redactQuery(ctx.querystring) || undefined,
          status: proxied ? res.statusCode : ctx.status,
          bytes: proxied ? state.bytesSent ?? 0 : ctx.response.length ?? 0,
          bytesReceived: state.bytesReceived,
          durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          client: state.clientAddress,
          user: state.user ?? null,
          userAgent: ctx.get('user-agent') || undefined,
          // A proxied response that did not finish: the client or storage went away.
          incomplete: proxied && !res.writableFinished ? true : undefined,
        },
        'request',
      );
    }
  };
}

export function redactQuery(querystring: string): string {
  if (!querystring) return '';
  const params = new URLSearchParams(querystring);
  const parts: string[] = [];
  for (const [key, value] of params) {
    parts.push(`${encodeURIComponent(key)}=${LOGGABLE_QUERY_KEYS.has(key) ? encodeURIComponent(value) : '[redacted]'}`);
  }
  return parts.join('&');
}

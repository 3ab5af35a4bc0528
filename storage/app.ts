// The storage service: a complete, unauthenticated OCI registry that the gateway fronts.
import Koa, { type Middleware } from 'koa';
import type { StorageDeps } from './http/context.js';
import { errorHandler } from './http/errors.js';
import { apiVersionHeader } from '../common/api-version.js';
import { requireInternalToken } from './middleware/internal-token.js';
import { readOnlyGuard } from './middleware/read-only.js';
import { requestLog } from './middleware/request-log.js';
import { createRouter } from './routes.js';
import { READ_METHODS } from '../common/v2-routes.js';

/**
 * `internalPaths`: what storage offers the gateway beside the API (health and metrics,
 * storage/health.ts; logged-out UI sessions, storage/logged-out-sessions.ts), behind the internal token.
 */
export function createStorageApp(deps: StorageDeps, internalPaths: Middleware[] = []): Koa {
  const app = new Koa();
  app.silent = true; // errors are answered and logged by errorHandler
  app.use(apiVersionHeader);
  app.use(requestLog(deps.logger));
  app.use(errorHandler(deps.logger));
  if (deps.options.internalToken) app.use(requireInternalToken(deps.options.internalToken));
  for (const paths of internalPaths) app.use(paths);
  if (deps.options.readOnly) app.use(readOnlyGuard);
  // The web UI's repository summaries are reused until something is written (repository-summary.ts).
  app.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      if (!READ_METHODS.has(ctx.method)) deps.registry.summaries.invalidate();
    }
  });
  const router = createRouter(deps);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

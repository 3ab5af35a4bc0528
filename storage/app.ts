// The storage service: a complete, unauthenticated OCI registry that the gateway fronts.
import Koa, { type Middleware } from 'koa';
import type { StorageDeps } from './http/context.js';
import { errorHandler } from './http/errors.js';
import { apiVersionHeader } from '../common/api-version.js';
import { requireInternalToken } from './middleware/internal-token.js';
import { readOnlyGuard } from './middleware/read-only.js';
import { requestLog } from './middleware/request-log.js';
import { createRouter } from './routes.js';

/** `internalPaths`: storage's health and metrics for the gateway (storage/health.ts), behind the internal token. */
export function createStorageApp(deps: StorageDeps, internalPaths?: Middleware): Koa {
  const app = new Koa();
  app.silent = true; // errors are answered and logged by errorHandler
  app.use(apiVersionHeader);
  app.use(requestLog(deps.logger));
  app.use(errorHandler(deps.logger));
  if (deps.options.internalToken) app.use(requireInternalToken(deps.options.internalToken));
  if (internalPaths) app.use(internalPaths);
  if (deps.options.readOnly) app.use(readOnlyGuard);
  const router = createRouter(deps);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

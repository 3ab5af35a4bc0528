// Storage's router, built from the route table (common/v2-routes.ts) in its order: each route
// and method there has exactly one handler here, which the compiler checks.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { routerPath, V2_ROUTES, type V2Route } from '../common/v2-routes.js';
import { apiVersionCheck } from './handlers/base.js';
import { blobHandlers } from './handlers/blobs.js';
import { catalogHandlers } from './handlers/catalog.js';
import { manifestHandlers } from './handlers/manifests.js';
import { referrerHandlers } from './handlers/referrers.js';
import { repositorySummaryHandlers } from './handlers/repository-summaries.js';
import { repositoryHandlers } from './handlers/repositories.js';
import { tagHandlers } from './handlers/tags.js';
import { uploadHandlers } from './handlers/uploads.js';
import type { StorageDeps } from './http/context.js';

type RouteHandlers = { [R in V2Route as R['name']]: Record<R['methods'][number], Middleware> };

export function createRouter(deps: StorageDeps): Router {
  const blobs = blobHandlers(deps);
  const uploads = uploadHandlers(deps);
  const manifests = manifestHandlers(deps);
  const summaries = repositorySummaryHandlers(deps);
  const handlers: RouteHandlers = {
    base: { GET: apiVersionCheck(deps) },
    catalog: { GET: catalogHandlers(deps).list },
    repositories: { GET: summaries.list },
    repository: { GET: summaries.repository, DELETE: repositoryHandlers(deps).delete },
    manifest: { GET: manifests.get, PUT: manifests.put, DELETE: manifests.delete },
    'upload-start': { POST: uploads.start },
    upload: { GET: uploads.status, PATCH: uploads.patch, PUT: uploads.complete, DELETE: uploads.cancel },
    blob: { GET: blobs.get, DELETE: blobs.delete },
    tags: { GET: tagHandlers(deps).list },
    referrers: { GET: referrerHandlers(deps).list },
  };

  const router = new Router();
  for (const route of V2_ROUTES) {
    const byMethod: Record<string, Middleware> = handlers[route.name];
    for (const template of route.paths) {
      for (const method of route.methods) router.register(routerPath(template), [method], byMethod[method]!, { name: route.name });
    }
  }
  return router;
}

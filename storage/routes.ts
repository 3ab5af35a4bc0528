// Every endpoint of the OCI Distribution API v1.1, in one table. The order matters where a
// greedy repository name could swallow a keyword (uploads before blobs); common/v2-scope.ts
// reads names out of paths with the same patterns, in the same order.
import Router from '@koa/router';
import { apiVersionCheck } from './handlers/base.js';
import { blobHandlers } from './handlers/blobs.js';
import { catalogHandlers } from './handlers/catalog.js';
import { manifestHandlers } from './handlers/manifests.js';
import { referrerHandlers } from './handlers/referrers.js';
import { tagHandlers } from './handlers/tags.js';
import { uploadHandlers } from './handlers/uploads.js';
import type { StorageDeps } from './http/context.js';

export function createRouter(deps: StorageDeps): Router {
  const router = new Router();
  const blobs = blobHandlers(deps);
  const uploads = uploadHandlers(deps);
  const manifests = manifestHandlers(deps);

  router.get('/v2/', apiVersionCheck);
  router.get('/v2', apiVersionCheck);
  router.get('/v2/_catalog', catalogHandlers(deps).list);

  router.get('/v2/*name/manifests/:reference', manifests.get);
  router.put('/v2/*name/manifests/:reference', manifests.put);
  router.delete('/v2/*name/manifests/:reference', manifests.delete);

  router.post('/v2/*name/blobs/uploads/', uploads.start);
  router.post('/v2/*name/blobs/uploads', uploads.start);
  router.get('/v2/*name/blobs/uploads/:uuid', uploads.status);
  router.patch('/v2/*name/blobs/uploads/:uuid', uploads.patch);
  router.put('/v2/*name/blobs/uploads/:uuid', uploads.complete);
  router.delete('/v2/*name/blobs/uploads/:uuid', uploads.cancel);

  router.get('/v2/*name/blobs/:digest', blobs.get);
  router.delete('/v2/*name/blobs/:digest', blobs.delete);

  router.get('/v2/*name/tags/list', tagHandlers(deps).list);
  router.get('/v2/*name/referrers/:digest', referrerHandlers(deps).list);
  return router;
}

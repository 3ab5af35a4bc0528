// `GET /v2/<name>/referrers/<digest>` (OCI Distribution v1.1), with `artifactType` filtering.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { OCI_INDEX } from '../registry/media-types.js';
import { digestParam, nameParam } from './params.js';

export function referrerHandlers({ registry }: StorageDeps) {
  return {
    async list(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const subject = digestParam(ctx);
      let manifests = await registry.referrers.list(name, subject);
      const artifactType = ctx.query.artifactType;
      if (typeof artifactType === 'string' && artifactType !== '') {
        manifests = manifests.filter((d) => d.artifactType === artifactType);
        ctx.set('OCI-Filters-Applied', 'artifactType');
      }
      ctx.type = OCI_INDEX;
      ctx.body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
    },
  };
}

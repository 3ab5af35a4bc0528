// `DELETE /v2/_registry/repositories/<name>`: deletes a whole repository (an extension under
// the OCI `_<ext>` naming). The gateway lets through only users with `delete` on the repository;
// storage, like for manifests, only when storage.delete.enabled. Answers 202 with a JSON body
// `{repository, manifestsDeleted, tagsDeleted}`; blobs are reclaimed by the next collection.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { deleteRepository } from '../registry/repository-delete.js';
import { nameParam, requireDeleteEnabled } from './params.js';

export function repositoryHandlers({ registry, options, logger }: StorageDeps) {
  return {
    async delete(ctx: Context): Promise<void> {
      requireDeleteEnabled(options.deleteEnabled);
      const name = nameParam(ctx);
      const result = await deleteRepository(registry, name);
      logger.info(result, 'repository deleted');
      ctx.status = 202;
      ctx.body = result;
    },
  };
}

// `GET /v2/<name>/tags/list`, sorted, with `n`/`last` pagination.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { repositoryPath } from '../http/locations.js';
import { paginate } from '../http/pagination.js';
import { unknownRepository } from './manifests.js';
import { nameParam } from './params.js';

export function tagHandlers({ registry }: StorageDeps) {
  return {
    async list(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      if (!(await registry.repositoryExists(name))) throw unknownRepository(name);
      const tags = paginate(ctx, await registry.tags.list(name), repositoryPath(name, 'tags/list'));
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ name, tags });
    },
  };
}

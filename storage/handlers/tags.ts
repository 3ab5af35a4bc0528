// `GET /v2/<name>/tags/list`, sorted, with `n`/`last` pagination.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { repositoryPath } from '../http/locations.js';
import { paginate } from '../http/pagination.js';
import { unknownRepository } from './manifests.js';
import { nameParam, proxyRoute } from './params.js';

export function tagHandlers({ registry, proxy }: StorageDeps) {
  return {
    async list(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      // A cached repository lists the tags pulled through it so far.
      const local = proxyRoute(ctx, proxy, name)?.localName ?? name;
      if (!(await registry.repositoryExists(local))) throw unknownRepository(name);
      const tags = paginate(ctx, await registry.tags.list(local), repositoryPath(name, 'tags/list'));
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ name, tags });
    },
  };
}

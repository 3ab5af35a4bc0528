// `GET /v2/_catalog`: every repository, sorted, with `n`/`last` pagination. With `n`, only the
// page (and one more entry, for the Link header) is read from storage.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { pageParams, paginate } from '../http/pagination.js';

export function catalogHandlers({ registry }: StorageDeps) {
  return {
    async list(ctx: Context): Promise<void> {
      const { n, last } = pageParams(ctx);
      const listed = n === undefined ? await registry.repositories() : await registry.repositoriesAfter(last, n + 1);
      const repositories = paginate(ctx, listed, '/v2/_catalog');
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ repositories });
    },
  };
}

// `GET /v2/_catalog`: every repository, sorted, with `n`/`last` pagination.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { paginate } from '../http/pagination.js';

export function catalogHandlers({ registry }: StorageDeps) {
  return {
    async list(ctx: Context): Promise<void> {
      const repositories = paginate(ctx, await registry.repositories(), '/v2/_catalog');
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ repositories });
    },
  };
}

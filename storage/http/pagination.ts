// `n` / `last` pagination with a `Link: <…>; rel="next"` header, for tags and the catalog.
import type { Context } from 'koa';
import { RegistryError } from '../../common/errors.js';
import { compareNames } from '../registry/repository-list.js';

export interface PageParams {
  n?: number;
  last?: string;
}

/** `n` and `last` of the query; PAGINATION_NUMBER_INVALID for an `n` that is not a number. */
export function pageParams(ctx: Context): PageParams {
  const nParam = ctx.query.n;
  const lastParam = ctx.query.last;
  const last = typeof lastParam === 'string' ? lastParam : undefined;
  let n: number | undefined;
  if (nParam !== undefined) {
    if (typeof nParam !== 'string' || !/^\d+$/.test(nParam)) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', 'n must be a non-negative integer', { n: nParam });
    }
    n = Number(nParam);
  }
  return { n, last };
}

/**
 * A page of `all` (sorted by compareNames) after `last`, at most `n` long. `all` may stop early
 * (a listing that read only n + 1 entries after `last`): one more than `n` is enough for Link.
 */
export function paginate(ctx: Context, all: string[], basePath: string): string[] {
  const { n, last } = pageParams(ctx);
  const after = last === undefined ? all : all.filter((entry) => compareNames(entry, last) > 0);
  if (n === undefined) return after;
  const page = after.slice(0, n);
  if (after.length > n && page.length > 0) {
    const next = `${basePath}?last=${encodeURIComponent(page[page.length - 1]!)}&n=${n}`;
    ctx.set('Link', `<${next}>; rel="next"`);
  }
  return page;
}

// `n` / `last` pagination with a `Link: <…>; rel="next"` header, for tags and the catalog.
import type { Context } from 'koa';
import { RegistryError } from '../../common/errors.js';
import { compareNames } from '../registry/repository-list.js';

/** A page of `all` (sorted by compareNames) after `last`, at most `n` long. */
export function paginate(ctx: Context, all: string[], basePath: string): string[] {
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
  const after = last === undefined ? all : all.filter((entry) => compareNames(entry, last) > 0);
  if (n === undefined) return after;
  const page = after.slice(0, n);
  if (after.length > n && page.length > 0) {
    const next = `${basePath}?last=${encodeURIComponent(page[page.length - 1]!)}&n=${n}`;
    ctx.set('Link', `<${next}>; rel="next"`);
  }
  return page;
}

// The web UI's extension routes (common/v2-routes.ts), read-only:
// - `GET /v2/_registry/repositories?n=&last=&q=`: repositories in catalog order, each with its
//   tag count, size and last push; `q` keeps the names containing it; `n` (default 100, at most
//   1000) and `last` page like the catalog, with a `Link` to the next page.
// - `GET /v2/_registry/repositories/<name>?n=&last=`: the repository's summary and its tags, each
//   with digest, media type, size, push time, creation date and platforms, paged like the list.
import type { Context } from 'koa';
import type { StorageDeps } from '../http/context.js';
import { pageParams } from '../http/pagination.js';
import { mapBounded } from '../registry/bounded.js';
import { compareNames } from '../registry/repository-list.js';
import type { RepositorySummary } from '../registry/repository-summary.js';
import { unknownRepository } from './manifests.js';
import { nameParam } from './params.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
const MAX_QUERY_LENGTH = 256;
/** Repositories summarised at once. */
const AT_ONCE = 32;

export const UI_REPOSITORIES_PATH = '/v2/_registry/repositories';

export function repositorySummaryHandlers({ registry }: StorageDeps) {
  return {
    async list(ctx: Context): Promise<void> {
      const { n: asked, last } = pageParams(ctx);
      const n = Math.min(asked ?? DEFAULT_PAGE, MAX_PAGE);
      const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim().toLowerCase().slice(0, MAX_QUERY_LENGTH) : '';
      const base = q === '' ? UI_REPOSITORIES_PATH : `${UI_REPOSITORIES_PATH}?q=${encodeURIComponent(q)}`;
      const everything = await registry.summaries.all(() => registry.repositories());
      let repositories: RepositorySummary[];
      if (everything) {
        const byName = new Map(everything.map((summary) => [summary.name, summary]));
        const names = everything.map((summary) => summary.name).filter((name) => q === '' || name.includes(q));
        repositories = paginateWith(ctx, names, last, n, base).map((name) => byName.get(name)!);
      } else {
        // A registry too big to summarise whole: only the page is read.
        const names = q === '' ? await registry.repositoriesAfter(last, n + 1) : (await registry.repositories()).filter((name) => name.includes(q));
        repositories = await mapBounded(paginateWith(ctx, names, last, n, base), AT_ONCE, (name) => registry.summaries.summary(name));
      }
      ctx.type = 'application/json';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = JSON.stringify({ repositories });
    },

    async repository(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      if (!(await registry.repositoryExists(name))) throw unknownRepository(name);
      const all = await registry.tags.list(name);
      const { n: asked, last } = pageParams(ctx);
      // Each tag costs a few reads: a page, never the whole repository at once.
      const tags = paginateWith(ctx, all, last, Math.min(asked ?? DEFAULT_PAGE, MAX_PAGE), `${UI_REPOSITORIES_PATH}/${name}`);
      const [summary, details] = await Promise.all([registry.summaries.summary(name), registry.summaries.tagSummaries(name, tags)]);
      ctx.type = 'application/json';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = JSON.stringify({ ...summary, tagList: details });
    },
  };
}

/** paginate() with the page size capped and a Link that keeps `q`. */
function paginateWith(ctx: Context, all: string[], last: string | undefined, n: number, base: string): string[] {
  const after = last === undefined ? all : all.filter((entry) => compareNames(entry, last) > 0);
  const page = after.slice(0, n);
  if (after.length > n && page.length > 0) {
    const sep = base.includes('?') ? '&' : '?';
    ctx.set('Link', `<${base}${sep}last=${encodeURIComponent(page[page.length - 1]!)}&n=${n}>; rel="next"`);
  }
  return page;
}

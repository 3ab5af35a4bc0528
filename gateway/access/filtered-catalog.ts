// The catalog a caller may see: storage's repository list with only the names the caller may
// pull, paged after filtering. The gateway reads storage's catalog in storage's order from the
// client's `last` on, in growing batches, until it has n + 1 allowed names (so it knows whether
// a next page exists) or storage has no more; the Link then points after the n-th allowed name.

export interface CatalogPage {
  names: string[];
  /** Storage said more names follow (its Link header). */
  more: boolean;
}

/** Reads storage's catalog: up to `n` names after `last` (all after `last` when n is undefined). */
export type CatalogReader = (last: string | undefined, n: number | undefined) => Promise<CatalogPage>;

export interface FilteredPage {
  names: string[];
  /** The `last` of the next page, when there is one. */
  nextLast?: string;
}

/** The first batch asked of storage; later batches double, so a sparse catalog costs few walks. */
export const FIRST_BATCH = 1000;

export async function filteredCatalogPage(
  read: CatalogReader,
  allowed: (repository: string) => boolean,
  request: { n?: number; last?: string },
): Promise<FilteredPage> {
  const { n, last } = request;
  if (n === undefined) return { names: (await read(last, undefined)).names.filter(allowed) };
  if (n === 0) return { names: [] };
  const found: string[] = [];
  let cursor = last;
  let batch = Math.max(FIRST_BATCH, n + 1);
  for (;;) {
    const page = await read(cursor, batch);
    for (const name of page.names) {
      if (!allowed(name)) continue;
      found.push(name);
      if (found.length > n) return { names: found.slice(0, n), nextLast: found[n - 1] };
    }
    if (!page.more || page.names.length === 0) return { names: found };
    cursor = page.names[page.names.length - 1];
    batch *= 2;
  }
}

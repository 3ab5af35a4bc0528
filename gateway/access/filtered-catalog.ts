// The catalog a caller may see: storage's repository list with only the names the caller may
// pull, paged after filtering. The gateway reads storage's catalog in storage's order from the
// client's `last` on, in growing batches, until it has n + 1 allowed names (so it knows whether
// a next page exists) or storage has no more; the Link then points after the n-th allowed name.

export interface CatalogPage<T = string> {
  names: T[];
  /** Storage said more names follow (its Link header). */
  more: boolean;
}

/** Reads storage's catalog: up to `n` names after `last` (all after `last` when n is undefined). */
export type CatalogReader<T = string> = (last: string | undefined, n: number | undefined) => Promise<CatalogPage<T>>;

export interface FilteredPage<T = string> {
  names: T[];
  /** The `last` of the next page, when there is one. */
  nextLast?: string;
}

/** The first batch asked of storage; later batches double, so a sparse catalog costs few walks. */
export const FIRST_BATCH = 1000;

/** The same over any listing of repositories (the web UI's, with details): `nameOf` says whose an entry is. */
export async function filteredCatalogPage<T = string>(
  read: CatalogReader<T>,
  allowed: (repository: T) => boolean,
  request: { n?: number; last?: string },
  nameOf: (entry: T) => string = (entry) => entry as unknown as string,
): Promise<FilteredPage<T>> {
  const { n, last } = request;
  if (n === undefined) return { names: (await read(last, undefined)).names.filter(allowed) };
  if (n === 0) return { names: [] };
  const found: T[] = [];
  let cursor = last;
  let batch = Math.max(FIRST_BATCH, n + 1);
  for (;;) {
    const page = await read(cursor, batch);
    for (const name of page.names) {
      if (!allowed(name)) continue;
      found.push(name);
      if (found.length > n) return { names: found.slice(0, n), nextLast: nameOf(found[n - 1]!) };
    }
    if (!page.more || page.names.length === 0) return { names: found };
    cursor = nameOf(page.names[page.names.length - 1]!);
    batch *= 2;
  }
}

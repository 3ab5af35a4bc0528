// Bounded concurrency for work over many items (reference checks, tag lookups): a manifest or a
// repository with thousands of entries must not open thousands of files at once.

/** `fn` over every item, at most `limit` at a time; results in the items' order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A budget of units (bytes) shared by concurrent requests: `run` waits until `units` fit, so a
 * crowd of big requests is served a few at a time instead of all in memory at once. A request
 * bigger than the whole budget runs alone.
 */
export class Budget {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly total: number) {}

  async run<T>(units: number, work: () => Promise<T>): Promise<T> {
    const take = Math.min(units, this.total);
    while (this.used + take > this.total) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used += take;
    try {
      return await work();
    } finally {
      this.used -= take;
      // Wake everyone waiting; those that still do not fit wait again (the queue is short).
      for (const wake of this.waiting.splice(0)) wake();
    }
  }
}

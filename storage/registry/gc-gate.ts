// What keeps an online garbage collection from racing pushes (docs/garbage-collection.md).
//
// While a collection runs, every write that makes content reachable records the digests it
// uses before it checks or writes anything: a completed upload or a mount (the blob), a manifest
// PUT (the manifest and everything it references). A recorded digest counts as marked: the sweep
// never deletes it. The sweep claims each digest before deleting it, and a claim is refused for
// a recorded digest; a write that records a digest the sweep has already claimed waits until
// that deletion is over, then checks existence as usual (and answers "unknown blob" instead of
// acknowledging a manifest whose blob is gone). Recording and claiming are synchronous (one
// JavaScript turn), so for one digest exactly one of them comes first: either the write sees the
// deletion and waits for it, or the sweep sees the write and keeps the digest.
//
// This is one process's memory: it protects the writes this storage process serves. Several
// replicas over one bucket need the same protocol through the bucket (see the design page).

export class GcGate {
  /** Digests written during the current collection; undefined when none runs. */
  private touched: Set<string> | undefined;
  /** Digests the sweep is deleting now, with the deletion's end. */
  private readonly deleting = new Map<string, Promise<void>>();
  private running: Promise<unknown> | undefined;

  /** Whether a collection runs now. */
  get active(): boolean {
    return this.touched !== undefined;
  }

  /** Digests of writes in progress (a count per digest): a collection starting now marks them. */
  private readonly inFlight = new Map<string, number>();

  /**
   * Runs a write that is about to use `digests`: records them (for the collection running now,
   * and for one that starts before the write ends), waits for any deletion of them already
   * under way, then runs `write`. `write` checks that what it needs exists, as it would anyway.
   */
  async using<T>(digests: Iterable<string>, write: () => Promise<T>): Promise<T> {
    const held = [...new Set(digests)];
    const waits: Promise<void>[] = [];
    for (const digest of held) {
      this.inFlight.set(digest, (this.inFlight.get(digest) ?? 0) + 1);
      this.touched?.add(digest);
      const deletion = this.deleting.get(digest);
      if (deletion) waits.push(deletion);
    }
    try {
      if (waits.length > 0) await Promise.all(waits);
      return await write();
    } finally {
      for (const digest of held) {
        const count = this.inFlight.get(digest)! - 1;
        if (count === 0) this.inFlight.delete(digest);
        else this.inFlight.set(digest, count);
      }
    }
  }

  /** Whether a write recorded `digest` during this collection (it then counts as marked). */
  wasUsed(digest: string): boolean {
    return this.touched?.has(digest) ?? false;
  }

  /**
   * Deletes `digest`'s content with `remove` unless a write recorded it; returns whether it did.
   * The check and the claim happen in one turn, before the first await.
   */
  async deleteUnlessUsed(digest: string, remove: () => Promise<void>): Promise<boolean> {
    if (this.touched?.has(digest) || this.deleting.has(digest)) return false;
    let done!: () => void;
    this.deleting.set(digest, new Promise<void>((resolve) => (done = resolve)));
    try {
      await remove();
      return true;
    } finally {
      this.deleting.delete(digest);
      done();
    }
  }

  /** Resolves once no collection runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Runs one collection at a time: a second caller waits for the first, then runs its own. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    // Writes already in progress count as made during this collection.
    this.touched = new Set(this.inFlight.keys());
    const run = work();
    this.running = run;
    try {
      return await run;
    } finally {
      this.touched = undefined;
      this.running = undefined;
    }
  }
}

/** The gate key of a tag (a retention rule deletes it only if no push moved it meanwhile). */
export function tagKey(name: string, tag: string): string {
  return `tag:${name}:${tag}`;
}

/** The gate key of a repository (an emptied repository is removed only if no write reached it meanwhile). */
export function repositoryKey(name: string): string {
  return `repository:${name}`;
}

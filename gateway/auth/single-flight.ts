// Runs one job per key at a time: callers asking for a key whose job is still running share its
// result (32 parallel first requests of a push cost one bcrypt verification, not 32).
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  run(key: string, job: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key);
    if (running) return running;
    const promise = job().finally(() => this.#running.delete(key));
    this.#running.set(key, promise);
    return promise;
  }

  get size(): number {
    return this.#running.size;
  }
}

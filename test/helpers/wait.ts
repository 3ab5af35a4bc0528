// Polling for a condition that becomes true on its own (a log line, a reload, bytes arriving).

/** Polls `condition` every `intervalMs` until it holds, or throws once `timeoutMs` has passed; returns the elapsed time. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return Date.now() - started;
}

// Prometheus metrics (prom-client), shared by both processes: one registry per process, labelled
// with the service, and the merge of two expositions into one, which is how the gateway's debug
// listener serves storage's metrics beside its own (gateway/debug-server.ts). Metric names are
// listed in the README ("Metrics").
import { collectDefaultMetrics, Registry } from 'prom-client';

export type Service = 'gateway' | 'storage';

/** A registry whose every series carries `service="gateway"` or `service="storage"`. */
export function createMetricsRegistry(service: Service): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  return registry;
}

const collecting = new WeakSet<Registry>();

/** Node's process metrics (CPU, memory, heap, event loop lag, GC) into `registry`, once. */
export function collectProcessMetrics(registry: Registry): void {
  if (collecting.has(registry)) return;
  collecting.add(registry);
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
}

/**
 * Exposition texts (Prometheus text format 0.0.4) merged into one: each family's `# HELP` and
 * `# TYPE` once, then the samples of every text. Both processes have the same process metrics
 * (`process_cpu_seconds_total`...), told apart by their `service` label; a family written twice
 * would be refused by Prometheus.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { help?: string; type?: string; samples: string[] }>();
  const family = (name: string) => {
    let entry = families.get(name);
    if (!entry) families.set(name, (entry = { samples: [] }));
    return entry;
  };
  for (const text of texts) {
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        current = meta[2]!;
        const entry = family(current);
        if (meta[1] === 'HELP') entry.help ??= line;
        else entry.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      // A sample belongs to the family announced last (histogram _bucket/_sum/_count included).
      const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0] ?? '';
      family(current !== undefined && name.startsWith(current) ? current : name).samples.push(line);
    }
  }
  const out: string[] = [];
  for (const entry of families.values()) {
    if (entry.help) out.push(entry.help);
    if (entry.type) out.push(entry.type);
    out.push(...entry.samples);
  }
  return `${out.join('\n')}\n`;
}

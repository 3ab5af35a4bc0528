// What the operations tests share: a `registry start` with the debug listener on, and a
// Prometheus text parser to read counters out of a scrape.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../helpers/net.js';
import { basicAuth, prepareRegistry, RegistryProcess, type RegistrySetup } from '../helpers/registry-process.js';
import { RegistryClient, send } from '../helpers/storage-http.js';

export interface OpsRegistry {
  setup: RegistrySetup;
  registry: RegistryProcess;
  client: RegistryClient;
  base: string;
  debugBase: string;
  scrape(): Promise<Samples>;
}

/** `registry start` with htpasswd auth and metrics on a debug port; removed after the test. */
export async function startOpsRegistry(
  t: ExecutionContext,
  extraEnv: Record<string, string> = {},
  beforeStart?: (setup: RegistrySetup) => Promise<void>,
): Promise<OpsRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'ops-'));
  const debugPort = await freePort();
  const setup = await prepareRegistry(dir, {
    REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${debugPort}`,
    REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true',
    ...extraEnv,
  });
  await beforeStart?.(setup);
  const registry = await RegistryProcess.start(setup);
  t.teardown(async () => {
    await registry.stop(10_000);
    await rm(dir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${setup.httpPort}`;
  const debugBase = `http://127.0.0.1:${debugPort}`;
  const client = new RegistryClient(base, { authorization: basicAuth(setup.user, setup.password) });
  return { setup, registry, client, base, debugBase, scrape: async () => parseSamples((await send(debugBase, '/metrics')).text) };
}

/** Samples of a Prometheus text exposition: `name{a="b",c="d"}` (labels sorted) -> value. */
export class Samples {
  constructor(readonly values: Map<string, number>) {}

  /** The sample with exactly these labels (the `service` label included), 0 when absent. */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.values.get(sampleKey(name, labels)) ?? 0;
  }

  /** The sum of every sample of `name` whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const [key, value] of this.values) {
      const parsed = parseKey(key);
      if (parsed.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => parsed.labels[k] === v)) total += value;
    }
    return total;
  }
}

export function parseSamples(text: string): Samples {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of match[2]?.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[key!] = value!;
    const key = sampleKey(match[1]!, labels);
    if (values.has(key)) throw new Error(`sample twice in one scrape: ${key}`);
    values.set(key, Number(match[3]));
  }
  return new Samples(values);
}

function sampleKey(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return `${name}{${parts.join(',')}}`;
}

function parseKey(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf('{');
  const labels: Record<string, string> = {};
  for (const [, k, v] of key.slice(brace + 1, -1).matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
  return { name: key.slice(0, brace), labels };
}

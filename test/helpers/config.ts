// A complete RegistryConfig for tests: registry:2's defaults, except that everything listens on
// a free loopback port. Pass only what a test cares about; nested objects are merged.
import type { RegistryConfig } from '../../common/config/types.js';

export type ConfigOverrides = {
  [K in keyof RegistryConfig]?: RegistryConfig[K] extends object ? DeepPartial<RegistryConfig[K]> : RegistryConfig[K];
};

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export function defaultTestConfig(): RegistryConfig {
  return {
    log: { level: 'info', fields: {} },
    storage: {
      driver: 'filesystem',
      redirect: false,
      filesystem: { rootdirectory: '/var/lib/registry' },
      delete: { enabled: false },
      maintenance: {
        uploadpurging: { enabled: false, ageMs: 7 * 24 * 3600_000, intervalMs: 24 * 3600_000, dryrun: false },
        readonly: { enabled: false },
        gc: { gracePeriodMs: 3_600_000 },
        retention: [],
      },
    },
    http: {
      addr: '127.0.0.1:0',
      relativeurls: false,
      headers: {},
      cors: { allowedorigins: [] },
      trustedproxies: [],
      draintimeoutMs: 30_000,
    },
    health: { storagedriver: { enabled: false, intervalMs: 10_000, threshold: 1 } },
    storageservice: { addr: '127.0.0.1:5001', maxuploads: 5_000, maxuploadsperclient: 500 },
    // Off unless a test is about the UI: `/` then answers as registry:2 does (an empty 200).
    ui: { enabled: false },
  };
}

/** The default test config with `overrides` merged in (objects merged deeply, arrays replaced). */
export function testConfig(overrides: ConfigOverrides = {}): RegistryConfig {
  return merge(defaultTestConfig(), overrides) as RegistryConfig;
}

function merge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) result[key] = merge(base[key], value);
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

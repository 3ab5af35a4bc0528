// The garbage collection settings (issue 10): storage.maintenance.gc and .retention, from
// config.yml and REGISTRY_STORAGE_MAINTENANCE_*; bad rules are errors naming the rule.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../common/config/load.js';

function load(env: Record<string, string>, yaml?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gc-config-'));
  try {
    let configPath: string | undefined;
    if (yaml !== undefined) {
      configPath = join(dir, 'config.yml');
      writeFileSync(configPath, yaml);
    }
    return loadConfig({ env, configPath, cwd: dir }).config.storage.maintenance;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('off by default, a one hour grace period, no rules', (t) => {
  const maintenance = load({});
  t.deepEqual(maintenance.gc, { gracePeriodMs: 3_600_000 });
  t.deepEqual(maintenance.retention, []);
});

test('interval and grace period from the environment; a grace period of 0 is allowed', (t) => {
  const maintenance = load({ REGISTRY_STORAGE_MAINTENANCE_GC_INTERVAL: '12h', REGISTRY_STORAGE_MAINTENANCE_GC_GRACEPERIOD: '0' });
  t.deepEqual(maintenance.gc, { intervalMs: 12 * 3_600_000, gracePeriodMs: 0 });
  t.is(load({ REGISTRY_STORAGE_MAINTENANCE_GC_GRACEPERIOD: '0s' }).gc.gracePeriodMs, 0);
});

test('retention rules from config.yml', (t) => {
  const yaml = `version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  maintenance:
    gc:
      interval: 24h
      graceperiod: 30m
    retention:
      - repositories: "ci/**"
        keeptags: 10
        keeptagsmatching: "^v[0-9]"
        deleteuntaggedafter: 168h
      - repositories: "**"
        deleteuntaggedafter: 720h
`;
  const maintenance = load({}, yaml);
  t.deepEqual(maintenance.gc, { intervalMs: 24 * 3_600_000, gracePeriodMs: 30 * 60_000 });
  t.deepEqual(maintenance.retention, [
    { repositories: 'ci/**', keeptags: 10, keeptagsmatching: '^v[0-9]', deleteuntaggedafterMs: 168 * 3_600_000 },
    { repositories: '**', deleteuntaggedafterMs: 720 * 3_600_000 },
  ]);
});

test('a bad rule is an error naming it', (t) => {
  const rules = [
    ['- repositories: "a/**"\n        keeptags: many', /rule 1: keeptags/],
    ['- repositories: "a/**"\n        keeptagsmatching: "(["', /rule 1: keeptagsmatching/],
    ['- keeptags: 3', /rule 1: repositories .* is required/],
    ['- repositories: "A B"\n        keeptags: 3', /rule 1: /],
    ['- repositories: "a"\n        keeptgs: 3', /unknown key "keeptgs"/],
    ['- repositories: "a"', /says nothing to do/],
  ] as const;
  for (const [rule, message] of rules) {
    const yaml = `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /x\n  maintenance:\n    retention:\n      ${rule}\n`;
    const error = t.throws(() => load({}, yaml), { instanceOf: ConfigError });
    t.regex(error!.message, message);
    t.regex(error!.message, /storage\.maintenance\.retention/);
  }
});

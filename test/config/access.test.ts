// The access policy's settings: access.path / REGISTRY_ACCESS_PATH, or the policy inline in
// config.yml (kept with its lines for the gateway's policy reader).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig, type LoadedConfig } from '../../common/config/load.js';
import { describeSettings } from '../../common/config/describe.js';
import { readPolicyDocument } from '../../gateway/access/index.js';

const dirs: string[] = [];
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const AUTH = 'auth:\n  htpasswd:\n    realm: r\n    path: /auth/htpasswd\n';

function load(env: Record<string, string>, yaml?: string): LoadedConfig & { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'registry-access-config-'));
  dirs.push(dir);
  const file = join(dir, 'config.yml');
  if (yaml !== undefined) writeFileSync(file, yaml);
  return { ...loadConfig({ env, configPath: yaml === undefined ? undefined : file, cwd: dir }), dir, file };
}

function problems(env: Record<string, string>, yaml?: string): string[] {
  try {
    load(env, yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

test('no access section: no policy, exactly as before', (t) => {
  const { config } = load({}, `version: 0.1\n${AUTH}`);
  t.is(config.access, undefined);
  t.notRegex(describeSettings(config), /^access:/m);
});

test('access.path in config.yml resolves against the working directory; REGISTRY_ACCESS_PATH overrides', (t) => {
  const fromFile = load({}, `version: 0.1\n${AUTH}access:\n  path: policy.yml\n`);
  t.deepEqual(fromFile.config.access, { path: join(fromFile.dir, 'policy.yml') });
  const fromEnv = load({ REGISTRY_ACCESS_PATH: '/etc/registry/access.yml' }, `version: 0.1\n${AUTH}access:\n  path: policy.yml\n`);
  t.deepEqual(fromEnv.config.access, { path: '/etc/registry/access.yml' });
  const envOnly = load({ REGISTRY_ACCESS_PATH: '/a.yml', REGISTRY_AUTH_HTPASSWD_PATH: '/h' });
  t.deepEqual(envOnly.config.access, { path: '/a.yml' });
  t.true(describeSettings(envOnly.config).includes('access:\n  path: /a.yml'));
});

test('an inline policy is kept with its config.yml lines for the policy reader', (t) => {
  const { config, file } = load(
    {},
    `version: 0.1
${AUTH}access:
  admins: [root]
  rules:
    - repositories: ["{user}/**"]
      users: ["*"]
      actions: [pull, push, delete]
    - repositories: [x]
      users: [bob]
      actions: [pul]
`,
  );
  t.truthy(config.access && 'inline' in config.access);
  if (!config.access || !('inline' in config.access)) return;
  t.deepEqual([...config.access.inline.entries.keys()], ['admins', 'rules']);
  const error = t.throws(() => readPolicyDocument((config.access as { inline: Parameters<typeof readPolicyDocument>[0] }).inline, file));
  t.is(error?.message, `${file} line 14: rules[2].actions: unknown action "pul" (accepted: pull, push, delete)`);
  t.regex(describeSettings(config), /access:\n {2}admins:\n {4}- root\n {2}rules:\n/);
});

test('path and an inline policy together, or a policy without auth, are errors', (t) => {
  const both = problems({}, `version: 0.1\n${AUTH}access:\n  path: p.yml\n  rules: []\n`);
  t.is(both.length, 1);
  t.regex(both[0]!, /^access\.path \(REGISTRY_ACCESS_PATH; .*config\.yml line 7\): give either a policy file or an inline policy \(access\.rules\), not both$/);
  const noAuth = problems({ REGISTRY_ACCESS_PATH: '/p.yml' });
  t.deepEqual(noAuth, [
    'REGISTRY_ACCESS_PATH (access): an access policy needs auth.htpasswd.path (REGISTRY_AUTH_HTPASSWD_PATH) (without auth every request is anonymous)',
  ]);
  const unknown = problems({}, `version: 0.1\n${AUTH}access:\n  file: p.yml\n`);
  t.regex(unknown[0]!, /unknown key "access\.file"; accepted keys under access: path, groups, admins, rules/);
});

test('an empty access section or REGISTRY_ACCESS_PATH= means no policy, with a warning', (t) => {
  const { config, warnings } = load({ REGISTRY_ACCESS_PATH: '', REGISTRY_AUTH_HTPASSWD_PATH: '/h' });
  t.is(config.access, undefined);
  t.true(warnings.some((w) => w.includes('no access policy')));
});

// `registry access check` and the policy part of `registry config check`, as real processes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ACCESS_POLICY as POLICY } from '../helpers/access-policy.js';
import { runCli } from './run-cli.js';


function files(t: ExecutionContext, policy: string): { dir: string; policy: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'registry-cli-access-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'access.yml'), policy);
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nauth:\n  htpasswd:\n    realm: r\n    path: ${dir}/htpasswd\naccess:\n  path: ${dir}/access.yml\n`,
  );
  return { dir, policy: join(dir, 'access.yml'), config: join(dir, 'config.yml') };
}

test('access check prints allowed or denied and the deciding rule; exit status 0 or 1', async (t) => {
  const { policy, config, dir } = files(t, POLICY);
  const allowed = await runCli(['access', 'check', 'alice', 'push', 'alice/app', '--config', config]);
  t.is(allowed.code, 0, allowed.stderr);
  t.is(allowed.stdout, `alice push alice/app: allowed by rules[1] (${policy} line 5: {user}/** → pull, push, delete)\n`);

  const denied = await runCli(['access', 'check', 'bob', 'push', 'alice/app'], { env: { REGISTRY_CONFIGURATION_PATH: config } });
  t.is(denied.code, 1);
  t.is(denied.stdout, 'bob push alice/app: denied: no rule grants it\n');

  const admin = await runCli(['access', 'check', 'root', 'delete', 'team/x', '--policy', 'access.yml'], { cwd: dir });
  t.is(admin.code, 0);
  t.is(admin.stdout, `root delete team/x: allowed: admin (${policy} line 3)\n`);

  const anonymous = await runCli(['access', 'check', '--anonymous', 'pull', 'public/base', '--policy', policy]);
  t.is(anonymous.code, 0);
  t.regex(anonymous.stdout, /^anonymous pull public\/base: allowed by rules\[4\]/);
  t.is((await runCli(['access', 'check', '--anonymous', 'push', 'public/base', '--policy', policy])).code, 1);
});

test('access check without a policy answers as the gateway does; usage mistakes are status 2', async (t) => {
  const none = await runCli(['access', 'check', 'alice', 'delete', 'x'], { env: { REGISTRY_AUTH_HTPASSWD_PATH: '/h' } });
  t.is(none.code, 0);
  t.is(none.stdout, 'alice delete x: allowed: no access policy configured (every authenticated user may do everything)\n');
  const anonymous = await runCli(['access', 'check', '--anonymous', 'pull', 'x'], { env: { REGISTRY_AUTH_HTPASSWD_PATH: '/h' } });
  t.is(anonymous.code, 1);

  const badAction = await runCli(['access', 'check', 'alice', 'write', 'x']);
  t.is(badAction.code, 2);
  t.regex(badAction.stderr, /unknown action "write" \(one of pull, push, delete\)/);
  t.is((await runCli(['access', 'check', 'alice', 'pull'])).code, 2);
  t.is((await runCli(['access', 'check', '--anonymous', 'alice', 'pull', 'x'])).code, 2);
  const help = await runCli(['access', 'check', '--help']);
  t.is(help.code, 0);
  t.true(help.stdout.startsWith('Usage: registry access check USER ACTION REPOSITORY'));
});

test('config check and access check report every problem of a broken policy with its line', async (t) => {
  const { policy, config } = files(t, POLICY.replace('actions: [pull, push]', 'actions: [pull, pushh]').replace('[team]', '[teams]'));
  const check = await runCli(['config', 'check', '--config', config]);
  t.is(check.code, 1);
  t.is(
    check.stderr,
    'registry: invalid access policy:\n' +
      `  - ${policy} line 10: rules[2].actions: unknown action "pushh" (accepted: pull, push, delete)\n` +
      `  - ${policy} line 9: rules[2].groups: unknown group "teams" (defined: team)\n`,
  );
  const access = await runCli(['access', 'check', 'alice', 'pull', 'alice/x', '--config', config]);
  t.is(access.code, 1);
  t.regex(access.stderr, /line 10: rules\[2\]\.actions/);
});

test('config check with a good policy says so and shows access.path', async (t) => {
  const { policy, config } = files(t, POLICY);
  const check = await runCli(['config', 'check', '--config', config]);
  t.is(check.code, 0, check.stderr);
  t.regex(check.stderr, new RegExp(`registry: access policy OK \\(${policy.replaceAll('/', '\\/')}, 4 rules\\)`));
  t.regex(check.stdout, /^access:\n {2}path: .*access\.yml$/m);
});

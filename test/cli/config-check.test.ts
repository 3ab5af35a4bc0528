import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { runCli } from './run-cli.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'registry-cli-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('config check prints the effective configuration, secrets masked', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'config.yml');
  writeFileSync(
    file,
    `version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
  secret: do-not-print-me
redis:
  addr: localhost:6379
auth:
  htpasswd:
    realm: basic-realm
    path: ${dir}/htpasswd
`,
  );
  const result = await runCli(['config', 'check', '--config', file], {
    env: { REGISTRY_HTTP_ADDR: ':6000', REGISTRY_STORAGESERVICE_ADDR: '0.0.0.0:5001', REGISTRY_PORT: 'tcp://10.0.0.1:5000' },
  });
  t.is(result.code, 0, result.stderr);
  t.false(result.stdout.includes('do-not-print-me'));
  t.false(result.stderr.includes('do-not-print-me'));
  const shown = parse(result.stdout) as Record<string, Record<string, unknown>>;
  t.is(shown.http.addr, ':6000');
  t.is(shown.http.secret, '[redacted]');
  t.deepEqual(shown.storageservice, { addr: '0.0.0.0:5001', token: '[redacted]' });
  t.deepEqual(shown.auth, { htpasswd: { realm: 'basic-realm', path: `${dir}/htpasswd`, refuseinsecure: false } });
  t.deepEqual(shown.storage.delete, { enabled: true });
  t.regex(result.stderr, /^registry: warning: redis \(REGISTRY_REDIS; .*line 13\): ignored, this registry does not implement the redis cache$/m);
  t.regex(result.stderr, /^registry: configuration OK$/m);
  t.false(result.stderr.includes('REGISTRY_PORT'));
});

test('config check reads REGISTRY_CONFIGURATION_PATH and works with no file at all', async (t) => {
  const dir = tempDir(t);
  const noFile = await runCli(['config', 'check'], { cwd: dir });
  t.is(noFile.code, 0, noFile.stderr);
  t.is((parse(noFile.stdout) as { storage: { filesystem: { rootdirectory: string } } }).storage.filesystem.rootdirectory, join(dir, 'data'));

  writeFileSync(join(dir, 'config.yml'), 'version: 0.1\nhttp:\n  addr: :7000\n');
  const viaEnv = await runCli(['config', 'check'], { cwd: dir, env: { REGISTRY_CONFIGURATION_PATH: join(dir, 'config.yml') } });
  t.is(viaEnv.code, 0, viaEnv.stderr);
  t.is((parse(viaEnv.stdout) as { http: { addr: string } }).http.addr, ':7000');
});

test('config check fails with every problem, naming the variables', async (t) => {
  const result = await runCli(['config', 'check'], {
    env: {
      REGISTRY_STORAGE_DELETE_ENABLED: 'yes please',
      REGISTRY_AUTH: 'token',
      REGISTRY_STORAGESERVICE_ADDR: '0.0.0.0:5001',
      REGISTRY_HTTP_ADRESS: ':5000',
    },
  });
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /^registry: warning: REGISTRY_HTTP_ADRESS: not a setting; ignored/m);
  t.regex(result.stderr, /^registry: invalid configuration:$/m);
  t.regex(result.stderr, /^ {2}- REGISTRY_STORAGE_DELETE_ENABLED \(storage\.delete\.enabled\): expected true or false, got "yes please"$/m);
  t.regex(result.stderr, /^ {2}- REGISTRY_AUTH \(auth\.token\): auth type "token" is not supported \(supported: htpasswd\)$/m);
  t.regex(result.stderr, /^ {2}- REGISTRY_STORAGESERVICE_ADDR \(storageservice\.addr\): storage would listen on 0\.0\.0\.0:5001/m);
});

test('config check reports an unknown key and a missing file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'config.yml');
  writeFileSync(file, 'version: 0.1\nstorage:\n  gcs:\n    bucket: b\nhttp:\n  adress: :5000\n');
  const bad = await runCli(['config', 'check', '-c', file]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /storage\.gcs \(REGISTRY_STORAGE_GCS; .*line 3\): storage driver "gcs" is not supported yet/);
  t.regex(bad.stderr, /line 6: unknown key "http\.adress"; accepted keys under http: addr,/);

  const missing = await runCli(['config', 'check', '--config', join(dir, 'nope.yml')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /configuration file .*nope\.yml: no such file/);
});

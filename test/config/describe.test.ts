import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { describeSettings, effectiveSettings } from '../../common/config/describe.js';
import { loadConfig } from '../../common/config/load.js';

test('the effective configuration masks the secret and the token', (t) => {
  const { config } = loadConfig({
    env: {
      REGISTRY_HTTP_SECRET: 'super-secret-value',
      REGISTRY_STORAGESERVICE_ADDR: '0.0.0.0:5001',
      REGISTRY_STORAGESERVICE_URL: 'http://user:urlpass@storage:5001',
      REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
    },
    cwd: '/srv',
  });
  const text = describeSettings(config);
  t.false(text.includes('super-secret-value'));
  t.false(text.includes('urlpass'));
  const shown = parse(text) as Record<string, Record<string, unknown>>;
  t.is(shown.http.secret, '[redacted]');
  t.is(shown.storageservice.token, '[redacted]');
  t.deepEqual(shown, effectiveSettings(config) as unknown);
});

test('the effective configuration reads back as the same configuration', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-describe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { config } = loadConfig({
    env: {
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: '90m',
      'REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS': 'DENY',
      REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
      REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/tls.crt',
      REGISTRY_HTTP_TLS_KEY: '/certs/tls.key',
      REGISTRY_HTTP_TRUSTEDPROXIES: '[10.0.0.0/8]',
    },
    cwd: dir,
  });
  const text = describeSettings(config);
  const shown = parse(text) as { storage: { maintenance: { uploadpurging: { age: string; interval: string } } } };
  t.is(shown.storage.maintenance.uploadpurging.age, '1h30m');
  t.is(shown.storage.maintenance.uploadpurging.interval, '24h');
  writeFileSync(join(dir, 'config.yml'), text);
  t.deepEqual(loadConfig({ env: {}, configPath: join(dir, 'config.yml'), cwd: dir }).config, config);
});

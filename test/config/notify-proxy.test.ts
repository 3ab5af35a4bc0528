// notifications.endpoints and proxy (registry:2's keys, plus queuesize and proxy.remotes), from
// config.yml and from REGISTRY_NOTIFICATIONS_ENDPOINTS / REGISTRY_PROXY_*; bad values are errors
// naming the setting; `registry config check` shows them without secrets.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSettings } from '../../common/config/describe.js';
import { ConfigError, loadConfig } from '../../common/config/load.js';

async function load(env: Record<string, string>, yaml?: string) {
  const dir = await mkdtemp(join(tmpdir(), 'notify-config-'));
  try {
    if (yaml !== undefined) await writeFile(join(dir, 'config.yml'), yaml);
    return loadConfig({ env, cwd: dir, configPath: yaml !== undefined ? join(dir, 'config.yml') : undefined });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('notification endpoints from config.yml, with registry:2 defaults', async (t) => {
  const { config } = await load(
    {},
    `version: 0.1
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      url: https://listener.example.com/event
      headers:
        Authorization: [Bearer secret-token]
      timeout: 500ms
      threshold: 5
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        mediatypes:
           - application/vnd.oci.image.config.v1+json
        actions:
           - pull
    - name: plain
      url: http://127.0.0.1:9000/hook
      disabled: true
`,
  );
  const [first, second] = config.notifications!.endpoints;
  t.deepEqual(first, {
    name: 'alistener',
    url: 'https://listener.example.com/event',
    headers: { Authorization: ['Bearer secret-token'] },
    timeoutMs: 500,
    threshold: 5,
    backoffMs: 1000,
    ignoredMediaTypes: ['application/octet-stream', 'application/vnd.oci.image.config.v1+json'],
    ignoredActions: ['pull'],
    disabled: false,
    queuesize: 10_000,
  });
  t.like(second, { timeoutMs: 1000, threshold: 10, backoffMs: 1000, disabled: true });
  const described = describeSettings(config);
  t.false(described.includes('secret-token'), 'header values are masked');
  t.regex(described, /Authorization:\n\s+- "\[redacted\]"/);
});

test('REGISTRY_NOTIFICATIONS_ENDPOINTS holds the list as YAML; bad entries are errors naming the variable', async (t) => {
  const { config } = await load({ REGISTRY_NOTIFICATIONS_ENDPOINTS: '[{name: a, url: "http://127.0.0.1:1/x", queuesize: 50}]' });
  t.is(config.notifications?.endpoints[0]?.queuesize, 50);
  const bad = await t.throwsAsync(load({ REGISTRY_NOTIFICATIONS_ENDPOINTS: '[{name: a, url: "ftp://x"}, {name: a, url: "http://y"}]' }), { instanceOf: ConfigError });
  t.regex(bad!.message, /REGISTRY_NOTIFICATIONS_ENDPOINTS \(notifications\.endpoints\): expected an http:\/\/ or https:\/\/ URL/);
  const action = await t.throwsAsync(load({ REGISTRY_NOTIFICATIONS_ENDPOINTS: '[{name: a, url: "http://y", ignore: {actions: [fetch]}}]' }));
  t.regex(action!.message, /"fetch" is not an action \(push, pull, delete, mount\)/);
  const unknown = await t.throwsAsync(load({ REGISTRY_NOTIFICATIONS_ENDPOINTS: '[{name: a, url: "http://y", retries: 3}]' }));
  t.regex(unknown!.message, /unknown key "retries"/);
});

test('proxy: registry:2 keys from the environment, remotes by prefix, passwords masked', async (t) => {
  const { config } = await load({
    REGISTRY_PROXY_REMOTEURL: 'https://registry-1.docker.io',
    REGISTRY_PROXY_USERNAME: 'hubuser',
    REGISTRY_PROXY_PASSWORD: 'hub-secret',
    REGISTRY_PROXY_TTL: '24h',
    REGISTRY_PROXY_REMOTES: '[{prefix: ghcr.io, remoteurl: "https://ghcr.io", username: me, password: ghcr-secret, ttl: 1h}, {prefix: quay.io, remoteurl: "https://quay.io"}]',
  });
  t.deepEqual(config.proxy?.remotes, [
    { prefix: 'ghcr.io', remoteurl: 'https://ghcr.io', username: 'me', password: 'ghcr-secret', ttlMs: 3_600_000 },
    { prefix: 'quay.io', remoteurl: 'https://quay.io', ttlMs: 24 * 3_600_000 },
    { prefix: '', remoteurl: 'https://registry-1.docker.io', username: 'hubuser', password: 'hub-secret', ttlMs: 24 * 3_600_000 },
  ]);
  const described = describeSettings(config);
  t.false(described.includes('secret'), 'no password shown');
  t.regex(described, /proxy:\n\s+remoteurl: https:\/\/registry-1\.docker\.io/);
  const defaults = await load({ REGISTRY_PROXY_REMOTEURL: 'https://registry-1.docker.io' });
  t.is(defaults.config.proxy?.remotes[0]?.ttlMs, 168 * 3_600_000, 'a week, as registry:2');
  const bad = await t.throwsAsync(load({ REGISTRY_PROXY_REMOTES: '[{prefix: "Bad Prefix", remoteurl: "https://x"}]' }));
  t.regex(bad!.message, /prefix "Bad Prefix" is not a registry host/);
  const orphan = await t.throwsAsync(load({ REGISTRY_PROXY_USERNAME: 'u' }));
  t.regex(orphan!.message, /REGISTRY_PROXY_USERNAME \(proxy\.username\): needs proxy\.remoteurl/);
});

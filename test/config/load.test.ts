import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig, type LoadedConfig } from '../../common/config/load.js';

const dirs: string[] = [];
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'registry-config-'));
  dirs.push(dir);
  return dir;
}

/** Loads with exactly `env` (never process.env) and, when given, `yaml` as config.yml. */
function load(env: Record<string, string>, yaml?: string): LoadedConfig & { dir: string; file?: string } {
  const dir = tempDir();
  let file: string | undefined;
  if (yaml !== undefined) {
    file = join(dir, 'config.yml');
    writeFileSync(file, yaml);
  }
  return { ...loadConfig({ env, configPath: file, cwd: dir }), dir, file };
}

function loadError(env: Record<string, string>, yaml?: string): ConfigError {
  const error = (() => {
    try {
      load(env, yaml);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

// /work/shared/clients/README.md section 1: the config the reference registry:2 ran with.
const CLIENTS_CONFIG = `version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /tmp/clients/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: basic-realm
    path: /tmp/clients/auth/htpasswd
`;

// bench/anchor/start-distribution.sh: Debian's default config.yml with a health section.
const ANCHOR_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /tmp/ANCHOR/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: basic-realm
    path: /tmp/ANCHOR/registry/htpasswd
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

test('with no configuration at all, the defaults work on a laptop', (t) => {
  const { config, warnings, dir } = load({});
  t.deepEqual(warnings, []);
  t.deepEqual(config, {
    log: { level: 'info', fields: {} },
    storage: {
      driver: 'filesystem',
      redirect: false,
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: false },
      maintenance: {
        uploadpurging: { enabled: true, ageMs: 168 * 3_600_000, intervalMs: 24 * 3_600_000, dryrun: false },
        readonly: { enabled: false },
        gc: { gracePeriodMs: 3_600_000 },
        retention: [],
      },
    },
    http: { addr: ':5000', relativeurls: false, headers: {}, cors: { allowedorigins: [] }, trustedproxies: [], maxconnections: 4096, maxconnectionsperclient: 512, draintimeoutMs: 30_000 },
    health: { storagedriver: { enabled: false, intervalMs: 10_000, threshold: 1 } },
    storageservice: { addr: '127.0.0.1:0', maxuploads: 5000, maxuploadsperclient: 500 },
    ui: { enabled: true },
  });
});

test('reads the registry:2 config.yml from the clients guide', (t) => {
  const { config, warnings } = load({}, CLIENTS_CONFIG);
  t.deepEqual(warnings, []);
  t.is(config.log.level, 'info');
  t.deepEqual(config.log.fields, { service: 'registry' });
  t.is(config.storage.filesystem.rootdirectory, '/tmp/clients/registry-data');
  t.true(config.storage.delete.enabled);
  t.is(config.http.addr, '127.0.0.1:5000');
  t.deepEqual(config.http.headers, { 'X-Content-Type-Options': ['nosniff'] });
  t.deepEqual(config.auth, { htpasswd: { realm: 'basic-realm', path: '/tmp/clients/auth/htpasswd', refuseinsecure: false } });
});

test('reads the benchmark anchor config.yml, health section included', (t) => {
  const { config, warnings } = load({}, ANCHOR_CONFIG);
  t.deepEqual(warnings, []);
  t.is(config.storage.filesystem.rootdirectory, '/tmp/ANCHOR/registry/data');
  t.is(config.auth?.htpasswd?.path, '/tmp/ANCHOR/registry/htpasswd');
  t.is(config.log.level, 'info');
});

test('reads every supported setting from config.yml', (t) => {
  const { config, warnings, dir } = load(
    {},
    `version: 0.1
log:
  level: DEBUG
  formatter: json
  fields: {service: registry, replica: 2}
storage:
  filesystem:
    rootdirectory: ./images
  delete:
    enabled: yes
  maintenance:
    uploadpurging:
      enabled: true
      age: 72h
      interval: 1h30m
      dryrun: true
    readonly:
      enabled: true
http:
  addr: "[::1]:5443"
  host: https://registry.example.com/
  secret: 0123abc
  relativeurls: true
  tls:
    certificate: certs/tls.crt
    key: /etc/certs/tls.key
    minimumtls: tls1.3
    addr: :443
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: [DENY]
  trustedproxies: [10.0.0.0/8, 192.168.1.10, "::1"]
  maxconnections: 1000
  maxconnectionsperclient: 100
  draintimeout: 45s
  debug:
    addr: 127.0.0.1:5001
    prometheus:
      enabled: true
      path: /prom
health:
  storagedriver:
    enabled: true
    interval: 5s
    threshold: 3
auth:
  htpasswd:
    path: auth/htpasswd
    refuseinsecure: true
storageservice:
  addr: unix:run/storage.sock
  url: http://storage:5001
  maxuploads: 100
  maxuploadsperclient: 10
`,
  );
  t.deepEqual(warnings, []);
  t.deepEqual(config, {
    log: { level: 'debug', fields: { service: 'registry', replica: '2' } },
    storage: {
      driver: 'filesystem',
      redirect: false,
      filesystem: { rootdirectory: join(dir, 'images') },
      delete: { enabled: true },
      maintenance: {
        uploadpurging: { enabled: true, ageMs: 72 * 3_600_000, intervalMs: 5_400_000, dryrun: true },
        readonly: { enabled: true },
        gc: { gracePeriodMs: 3_600_000 },
        retention: [],
      },
    },
    http: {
      addr: '[::1]:5443',
      host: 'https://registry.example.com',
      secret: '0123abc',
      relativeurls: true,
      tls: { certificate: join(dir, 'certs/tls.crt'), key: '/etc/certs/tls.key', minimumtls: 'tls1.3', addr: ':443' },
      headers: { 'Strict-Transport-Security': ['max-age=31536000'], 'X-Frame-Options': ['DENY'] },
      cors: { allowedorigins: [] },
      trustedproxies: ['10.0.0.0/8', '192.168.1.10', '::1'],
      maxconnections: 1000,
      maxconnectionsperclient: 100,
      draintimeoutMs: 45_000,
      debug: { addr: '127.0.0.1:5001', prometheus: { enabled: true, path: '/prom' } },
    },
    health: { storagedriver: { enabled: true, intervalMs: 5000, threshold: 3 } },
    auth: { htpasswd: { realm: 'Registry Realm', path: join(dir, 'auth/htpasswd'), refuseinsecure: true } },
    storageservice: { addr: `unix:${join(dir, 'run/storage.sock')}`, token: '0123abc', url: 'http://storage:5001', maxuploads: 100, maxuploadsperclient: 10 },
    ui: { enabled: true },
  });
});

test('REGISTRY_CONFIGURATION_PATH names config.yml and is not itself a setting', (t) => {
  const dir = tempDir();
  const file = join(dir, 'config.yml');
  writeFileSync(file, CLIENTS_CONFIG);
  const { config, warnings } = loadConfig({ env: { REGISTRY_CONFIGURATION_PATH: file }, cwd: dir });
  t.deepEqual(warnings, []);
  t.is(config.http.addr, '127.0.0.1:5000');
});

test('environment variables override config.yml', (t) => {
  const { config } = load(
    {
      REGISTRY_HTTP_ADDR: ':6000',
      REGISTRY_STORAGE_DELETE_ENABLED: 'false',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/var/lib/registry',
      REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
      REGISTRY_LOG_FIELDS_SERVICE: 'from-env',
    },
    CLIENTS_CONFIG,
  );
  t.is(config.http.addr, ':6000');
  t.false(config.storage.delete.enabled);
  t.is(config.storage.filesystem.rootdirectory, '/var/lib/registry');
  t.deepEqual(config.auth?.htpasswd, { realm: 'basic-realm', path: '/auth/htpasswd', refuseinsecure: false });
  t.deepEqual(config.log.fields, { service: 'from-env' });
});

test('variable names match the schema case-insensitively', (t) => {
  const { config, warnings } = load({
    registry_http_addr: '127.0.0.1:7000',
    Registry_Storage_Delete_Enabled: 'true',
    REGISTRY_STORAGESERVICE_Addr: 'unix:/tmp/storage.sock',
  });
  t.deepEqual(warnings, []);
  t.is(config.http.addr, '127.0.0.1:7000');
  t.true(config.storage.delete.enabled);
  t.is(config.storageservice.addr, 'unix:/tmp/storage.sock');
});

test('variable values are read as YAML: booleans, lists, mappings, durations', (t) => {
  const { config } = load({
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_STORAGE_MAINTENANCE_READONLY: '{enabled: true}',
    REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'off',
    REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: '2h',
    REGISTRY_HTTP_TRUSTEDPROXIES: '[10.0.0.0/8, "fd00::/8"]',
    REGISTRY_HTTP_HEADERS: '{X-Frame-Options: [DENY]}',
    'REGISTRY_HTTP_HEADERS_ACCESS-CONTROL-ALLOW-ORIGIN': '["*"]',
    REGISTRY_HTTP_SECRET: '12345',
    REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/tls.crt',
    REGISTRY_HTTP_TLS_KEY: '/certs/tls.key',
  });
  t.true(config.storage.delete.enabled);
  t.true(config.storage.maintenance.readonly.enabled);
  t.false(config.storage.maintenance.uploadpurging.enabled);
  t.is(config.storage.maintenance.uploadpurging.ageMs, 7_200_000);
  t.deepEqual(config.http.trustedproxies, ['10.0.0.0/8', 'fd00::/8']);
  t.deepEqual(config.http.headers, { 'X-Frame-Options': ['DENY'], 'access-control-allow-origin': ['*'] });
  t.is(config.http.secret, '12345');
  t.deepEqual(config.http.tls, { certificate: '/certs/tls.crt', key: '/certs/tls.key', minimumtls: 'tls1.2' });
});

test('a comma-separated REGISTRY_HTTP_TRUSTEDPROXIES is a list too', (t) => {
  const { config } = load({ REGISTRY_HTTP_TRUSTEDPROXIES: '10.0.0.1, 172.16.0.0/12' });
  t.deepEqual(config.http.trustedproxies, ['10.0.0.1', '172.16.0.0/12']);
});

test('compose style: REGISTRY_AUTH=htpasswd with realm, path and /Data', (t) => {
  const { config, warnings } = load({
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: 'Registry',
    REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/Data',
  });
  t.deepEqual(warnings, []);
  t.deepEqual(config.auth, { htpasswd: { realm: 'Registry', path: '/auth/htpasswd', refuseinsecure: false } });
  t.is(config.storage.filesystem.rootdirectory, '/Data');
});

test('REGISTRY_AUTH=htpasswd keeps the htpasswd settings of config.yml', (t) => {
  const { config } = load({ REGISTRY_AUTH: 'htpasswd' }, CLIENTS_CONFIG);
  t.deepEqual(config.auth?.htpasswd, { realm: 'basic-realm', path: '/tmp/clients/auth/htpasswd', refuseinsecure: false });
});

test('auth and storage given as a plain type in config.yml', (t) => {
  const { config } = load({ REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd' }, 'version: 0.1\nstorage: filesystem\nauth: htpasswd\n');
  t.is(config.auth?.htpasswd?.path, '/auth/htpasswd');
  t.is(config.auth?.htpasswd?.realm, 'Registry Realm');
});

test('other auth types are refused, naming the variable', (t) => {
  for (const type of ['token', 'silly']) {
    const error = loadError({ REGISTRY_AUTH: type });
    t.deepEqual(error.problems, [`REGISTRY_AUTH (auth.${type}): auth type "${type}" is not supported (supported: htpasswd)`]);
  }
  const fromFile = loadError({}, 'version: 0.1\nauth:\n  token:\n    realm: https://auth.example.com/token\n');
  t.regex(fromFile.message, /auth\.token \(REGISTRY_AUTH_TOKEN; .*config\.yml line 3\): auth type "token" is not supported/);
});

test('storage drivers other than filesystem and s3 are refused as not supported yet', (t) => {
  const fromFile = loadError({}, 'version: 0.1\nstorage:\n  gcs:\n    bucket: images\n');
  t.is(fromFile.problems.length, 1);
  t.regex(fromFile.problems[0], /^storage\.gcs \(REGISTRY_STORAGE_GCS; .*config\.yml line 3\): storage driver "gcs" is not supported yet \(supported: filesystem, s3\)$/);
  const fromEnv = loadError({ REGISTRY_STORAGE_AZURE_ACCOUNTNAME: 'images' });
  t.deepEqual(fromEnv.problems, ['REGISTRY_STORAGE_AZURE_ACCOUNTNAME (storage.azure): storage driver "azure" is not supported yet (supported: filesystem, s3)']);
  t.regex(loadError({ REGISTRY_STORAGE: 'inmemory' }).message, /storage driver "inmemory" is not supported yet/);
});

test('an unknown key in config.yml is an error naming the path and the accepted keys', (t) => {
  const error = loadError({}, 'version: 0.1\nhttp:\n  addr: :5000\n  adress: :6000\nstorage:\n  filesystem:\n    rootdir: /data\nfrobnicate: true\n');
  t.is(error.problems.length, 3);
  t.regex(error.problems[0], /config\.yml line 4: unknown key "http\.adress"; accepted keys under http: addr, net, host, .*trustedproxies, maxconnections, maxconnectionsperclient$/);
  t.regex(error.problems[1], /config\.yml line 7: unknown key "storage\.filesystem\.rootdir"; accepted keys under storage\.filesystem: rootdirectory, maxthreads$/);
  t.regex(error.problems[2], /config\.yml line 8: unknown key "frobnicate"; accepted keys at the top level: version, log, .*storageservice$/);
});

test('keys in the wrong case get a hint', (t) => {
  const error = loadError({}, 'version: 0.1\nhttp:\n  Addr: :5000\n');
  t.regex(error.message, /unknown key "http\.Addr" \(keys are lower case: did you mean "addr"\?\)/);
});

test('an unknown REGISTRY_ variable is only a warning', (t) => {
  const { config, warnings } = load({ REGISTRY_HTTP_ADRESS: ':6000', REGISTRY_FROBNICATE: '1' });
  t.is(config.http.addr, ':5000');
  t.is(warnings.length, 2);
  t.regex(warnings[0], /^REGISTRY_FROBNICATE: not a setting; ignored \(accepted: version, log, .*\)$/);
  t.regex(warnings[1], /^REGISTRY_HTTP_ADRESS: not a setting; ignored \(accepted under http: addr, .*\)$/);
});

test('Kubernetes service links and other tools\' REGISTRY_ variables are ignored silently', (t) => {
  const { warnings, config } = load({
    REGISTRY_PORT: 'tcp://10.96.0.12:5000',
    REGISTRY_PORT_5000_TCP: 'tcp://10.96.0.12:5000',
    REGISTRY_PORT_5000_TCP_ADDR: '10.96.0.12',
    REGISTRY_PORT_5000_TCP_PORT: '5000',
    REGISTRY_PORT_5000_TCP_PROTO: 'tcp',
    REGISTRY_SERVICE_HOST: '10.96.0.12',
    REGISTRY_SERVICE_PORT: '5000',
    REGISTRY_SERVICE_PORT_HTTP: '5000',
    // a service called registry-storage
    REGISTRY_STORAGE_PORT: 'tcp://10.96.0.13:5001',
    REGISTRY_STORAGE_SERVICE_HOST: '10.96.0.13',
    REGISTRY_STORAGE_PORT_5001_TCP_ADDR: '10.96.0.13',
    // podman/skopeo credentials file
    REGISTRY_AUTH_FILE: '/run/containers/auth.json',
  });
  t.deepEqual(warnings, []);
  t.is(config.auth, undefined);
});

test('a wrong value names the variable, the YAML path and what is accepted', (t) => {
  const cases: Array<[string, string, string]> = [
    ['REGISTRY_STORAGE_DELETE_ENABLED', 'yes please', 'REGISTRY_STORAGE_DELETE_ENABLED (storage.delete.enabled): expected true or false, got "yes please"'],
    ['REGISTRY_HTTP_RELATIVEURLS', '[true]', 'REGISTRY_HTTP_RELATIVEURLS (http.relativeurls): expected true or false, got a list'],
    ['REGISTRY_LOG_LEVEL', 'verbose', 'REGISTRY_LOG_LEVEL (log.level): expected one of error, warn, info, debug, got "verbose"'],
    ['REGISTRY_HTTP_ADDR', '5000', 'REGISTRY_HTTP_ADDR (http.addr): expected ":5000", "host:5000", "[::1]:5000" or "unix:/path/to.sock", got "5000" (no port)'],
    ['REGISTRY_HTTP_ADDR', '::1:5000', 'REGISTRY_HTTP_ADDR (http.addr): expected ":5000", "host:5000", "[::1]:5000" or "unix:/path/to.sock", got "::1:5000" (write IPv6 addresses in brackets, e.g. "[::1]:5000")'],
    ['REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE', '3600', 'REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE (storage.maintenance.uploadpurging.age): expected a duration such as 168h, 30m or 90s, got "3600" (a number needs a unit)'],
    ['REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL', '1 day', 'REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL (storage.maintenance.uploadpurging.interval): expected a duration such as 168h, 30m or 90s, got "1 day"'],
    ['REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL', '0s', 'REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL (storage.maintenance.uploadpurging.interval): expected a duration greater than zero, got "0s"'],
    ['REGISTRY_HTTP_TRUSTEDPROXIES', '[10.0.0.0/33]', 'REGISTRY_HTTP_TRUSTEDPROXIES (http.trustedproxies): expected IP addresses or CIDR ranges (e.g. [10.0.0.0/8, 192.168.1.10]), got "10.0.0.0/33"'],
    ['REGISTRY_HTTP_HOST', 'registry.example.com', 'REGISTRY_HTTP_HOST (http.host): expected an http:// or https:// URL, got "registry.example.com"'],
    ['REGISTRY_STORAGESERVICE_URL', 'ftp://storage', 'REGISTRY_STORAGESERVICE_URL (storageservice.url): expected an http:// or https:// URL, got "ftp://storage"'],
    ['REGISTRY_STORAGESERVICE_ADDR', 'storage', 'REGISTRY_STORAGESERVICE_ADDR (storageservice.addr): expected ":5000", "host:5000", "[::1]:5000" or "unix:/path/to.sock", got "storage" (no port)'],
    ['REGISTRY_HTTP_HEADERS', '[nosniff]', 'REGISTRY_HTTP_HEADERS (http.headers): expected a mapping (name: value), got a list'],
    ['REGISTRY_HTTP_NET', 'udp', 'REGISTRY_HTTP_NET (http.net): expected one of tcp, unix, got "udp"'],
    ['REGISTRY_VERSION', '0.2', 'REGISTRY_VERSION (version): expected 0.1 (the only configuration version), got "0.2"'],
    ['REGISTRY_HTTP_MAXCONNECTIONSPERCLIENT', '0', 'REGISTRY_HTTP_MAXCONNECTIONSPERCLIENT (http.maxconnectionsperclient): expected a whole number from 1 up, got "0"'],
    ['REGISTRY_HTTP_PREFIX', '/registry', 'REGISTRY_HTTP_PREFIX (http.prefix): serving the API under a path prefix is not supported yet (only "/")'],
  ];
  for (const [name, value, message] of cases) {
    t.deepEqual(loadError({ [name]: value }).problems, [message], `${name}=${value}`);
  }
});

test('TLS settings that need each other', (t) => {
  const cert = { REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/tls.crt' };
  t.deepEqual(loadError({ REGISTRY_HTTP_TLS_MINIMUMTLS: 'tls2' }).problems, [
    'REGISTRY_HTTP_TLS_MINIMUMTLS (http.tls.minimumtls): expected tls1.2 or tls1.3, got "tls2"',
  ]);
  t.deepEqual(loadError(cert).problems, [
    'http.tls.key (REGISTRY_HTTP_TLS_KEY): required because REGISTRY_HTTP_TLS_CERTIFICATE (http.tls.certificate) is set (TLS needs both the certificate and its key)',
  ]);
  t.regex(loadError({ REGISTRY_HTTP_TLS_ADDR: ':443' }).message, /REGISTRY_HTTP_TLS_ADDR \(http\.tls\.addr\): HTTPS needs http\.tls\.certificate .* and http\.tls\.key/);
  t.regex(
    loadError({ ...cert, REGISTRY_HTTP_TLS_KEY: '/k', REGISTRY_HTTP_TLS_ADDR: ':5000' }).message,
    /HTTPS cannot listen on http\.addr \(REGISTRY_HTTP_ADDR\) too/,
  );
  const old = load({ ...cert, REGISTRY_HTTP_TLS_KEY: '/k', REGISTRY_HTTP_TLS_MINIMUMTLS: 'tls1.0' });
  t.is(old.config.http.tls?.minimumtls, 'tls1.2');
  t.deepEqual(old.warnings, ['REGISTRY_HTTP_TLS_MINIMUMTLS (http.tls.minimumtls): tls1.0 is too old and no longer offered; using tls1.2']);
});

test('htpasswd needs a path; the realm has a default', (t) => {
  t.deepEqual(loadError({ REGISTRY_AUTH: 'htpasswd' }).problems, [
    'auth.htpasswd.path (REGISTRY_AUTH_HTPASSWD_PATH): required with htpasswd auth (the htpasswd file, e.g. /auth/htpasswd)',
  ]);
  t.is(load({ REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd' }).config.auth?.htpasswd?.realm, 'Registry Realm');
});

test('storage reachable from the network needs a token', (t) => {
  for (const addr of ['0.0.0.0:5001', ':5001', '10.1.2.3:5001', 'storage:5001', '[::]:5001']) {
    const error = loadError({ REGISTRY_STORAGESERVICE_ADDR: addr });
    t.is(error.problems.length, 1, addr);
    t.regex(
      error.problems[0],
      /^REGISTRY_STORAGESERVICE_ADDR \(storageservice\.addr\): storage would listen on .*without a token; set storageservice\.token \(REGISTRY_STORAGESERVICE_TOKEN\) or http\.secret \(REGISTRY_HTTP_SECRET\)/,
      addr,
    );
  }
  t.is(load({ REGISTRY_STORAGESERVICE_ADDR: ':5001', REGISTRY_STORAGESERVICE_TOKEN: 'tok' }).config.storageservice.token, 'tok');
  // http.secret is the token's default
  t.is(load({ REGISTRY_STORAGESERVICE_ADDR: ':5001', REGISTRY_HTTP_SECRET: 'sekrit' }).config.storageservice.token, 'sekrit');
  for (const addr of ['127.0.0.1:5001', '127.0.0.2:5001', 'localhost:5001', '[::1]:5001', 'unix:/run/storage.sock']) {
    t.is(load({ REGISTRY_STORAGESERVICE_ADDR: addr }).config.storageservice.token, undefined, addr);
  }
});

test('every problem is reported at once, from the file and the environment', (t) => {
  const error = loadError(
    { REGISTRY_LOG_LEVEL: 'loud', REGISTRY_HTTP_ADDR: 'nowhere' },
    'version: 0.1\nstorage:\n  delete:\n    enabled: "yes please"\n  maintenance:\n    uploadpurging:\n      age: 7d\n',
  );
  t.is(error.problems.length, 4);
  const expected = [
    /^REGISTRY_LOG_LEVEL \(log\.level\): expected one of error, warn, info, debug, got "loud"$/,
    /^storage\.delete\.enabled \(REGISTRY_STORAGE_DELETE_ENABLED; .*config\.yml line 4\): expected true or false, got "yes please"$/,
    /^storage\.maintenance\.uploadpurging\.age \(REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE; .*config\.yml line 7\): expected a duration/,
    /^REGISTRY_HTTP_ADDR \(http\.addr\): expected ":5000"/,
  ];
  for (const pattern of expected) t.true(error.problems.some((p) => pattern.test(p)), String(pattern));
  t.regex(error.message, /^invalid configuration:\n {2}- /);
});

test('registry:2 settings this registry does not implement are warnings', (t) => {
  const { warnings } = load(
    {},
    `version: 0.1
log:
  formatter: text
http:
  debug:
    tls:
      certificate: /debug.crt
notifications:
  endpoints:
    - name: alistener
      url: https://listener.example.com/event
proxy:
  remoteurl: https://registry-1.docker.io
redis:
  addr: localhost:6379
storage:
  redirect:
    disable: false
`,
  );
  t.is(warnings.length, 4);
  t.regex(warnings.join('\n'), /redis .*: ignored, this registry does not implement the redis cache/);
  t.regex(warnings.join('\n'), /log\.formatter .*: formatter "text" is not available: logs are always JSON lines/);
  t.regex(warnings.join('\n'), /http\.debug\.tls .*: ignored, this registry does not implement TLS on the debug server/);
  t.regex(warnings.join("\n"), /storage\.redirect\.disable .*: redirects need the s3 driver/);
});

test('the debug listener, metrics, drain timeout and health checks from the environment', (t) => {
  const { config, warnings } = load({
    REGISTRY_HTTP_DEBUG_ADDR: 'localhost:5001',
    REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true',
    REGISTRY_HTTP_DRAINTIMEOUT: '2m',
    REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: 'true',
  });
  t.deepEqual(warnings, []);
  t.deepEqual(config.http.debug, { addr: 'localhost:5001', prometheus: { enabled: true, path: '/metrics' } });
  t.is(config.http.draintimeoutMs, 120_000);
  t.deepEqual(config.health.storagedriver, { enabled: true, intervalMs: 10_000, threshold: 1 });
  t.regex(load({ REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true' }).warnings.join('\n'), /prometheus\.enabled\): ignored without http\.debug\.addr/);
  t.regex(loadError({ REGISTRY_HTTP_DEBUG_ADDR: ':5001', REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH: 'metrics' }).message, /http\.debug\.prometheus\.path\): expected a URL path such as \/metrics/);
  t.regex(loadError({ REGISTRY_HTTP_DRAINTIMEOUT: '30' }).message, /REGISTRY_HTTP_DRAINTIMEOUT \(http\.draintimeout\): expected a duration/);
});

test('registry:2 settings whose absence would weaken security are errors', (t) => {
  t.regex(loadError({ REGISTRY_HTTP_TLS_CLIENTCAS: '[/ca.pem]' }).message, /http\.tls\.clientcas\): client certificate authentication is not supported yet/);
  t.regex(loadError({ REGISTRY_HTTP_TLS_LETSENCRYPT_EMAIL: 'a@b.c' }).message, /http\.tls\.letsencrypt\): Let's Encrypt is not supported/);
});

test('the deprecated top-level loglevel is still read', (t) => {
  const { config, warnings } = load({}, 'version: 0.1\nloglevel: debug\n');
  t.is(config.log.level, 'debug');
  t.is(warnings.length, 1);
  t.regex(warnings[0], /loglevel .*deprecated, use log\.level/);
});

test('http.net unix turns http.addr into a unix socket', (t) => {
  const { config } = load({ REGISTRY_HTTP_NET: 'unix', REGISTRY_HTTP_ADDR: '/run/registry.sock' });
  t.is(config.http.addr, 'unix:/run/registry.sock');
});

test('config.yml needs version 0.1, valid YAML and an existing file', (t) => {
  t.regex(loadError({}, 'http:\n  addr: :5000\n').message, /"version: 0\.1" is missing/);
  t.regex(loadError({}, 'version: 0.2\n').message, /version \(REGISTRY_VERSION; .*line 1\): expected 0\.1 .*got "0\.2"/);
  t.regex(loadError({}, 'version: 0.1\nhttp:\n  addr: :5000\n  addr: :6000\n').message, /not valid YAML:\n.*Map keys must be unique/);
  t.regex(loadError({}, '- a\n- b\n').message, /expected a YAML mapping/);
  const missing = t.throws(() => loadConfig({ env: {}, configPath: '/nonexistent/config.yml' }), { instanceOf: ConfigError });
  t.deepEqual(missing?.problems, ['configuration file /nonexistent/config.yml: no such file']);
});

test('when two spellings of a variable are set, the later one wins with a warning', (t) => {
  const { config, warnings } = load({ REGISTRY_HTTP_ADDR: ':6000', registry_http_addr: ':7000' });
  t.is(config.http.addr, ':7000');
  t.deepEqual(warnings, ['registry_http_addr and REGISTRY_HTTP_ADDR both set http.addr; registry_http_addr wins']);
});

test('an empty variable unsets the setting', (t) => {
  const { config } = load({ REGISTRY_STORAGE_DELETE_ENABLED: '' }, CLIENTS_CONFIG);
  t.false(config.storage.delete.enabled);
});

test('upload session caps: defaults, REGISTRY_STORAGESERVICE_MAXUPLOADS*, and a bad value named', (t) => {
  const defaults = load({}).config.storageservice;
  t.is(defaults.maxuploads, 5000);
  t.is(defaults.maxuploadsperclient, 500);
  const set = load({ REGISTRY_STORAGESERVICE_MAXUPLOADS: '20', REGISTRY_STORAGESERVICE_MAXUPLOADSPERCLIENT: '3' }).config.storageservice;
  t.is(set.maxuploads, 20);
  t.is(set.maxuploadsperclient, 3);
  t.regex(loadError({ REGISTRY_STORAGESERVICE_MAXUPLOADS: '0' }).message, /REGISTRY_STORAGESERVICE_MAXUPLOADS.*whole number from 1 up, got "0"/);
});

// Reads the configuration once at start-up, as registry:2 does: config.yml (optional), then
// REGISTRY_* environment variables over it, then defaults. Every problem is reported at once,
// naming the setting both as the YAML path and as the environment variable.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatListenAddress, isLoopbackAddress, parseListenAddress, type ListenAddress } from './address.js';
import { applyEnvironment, CONFIG_PATH_VARIABLE, envNameOf } from './env.js';
import { emptyMap, parseYamlFile, type RawNode } from './raw.js';
import { ACCESS_POLICY_KEYS, SCHEMA } from './schema.js';
import type { NotificationEndpoint } from './notifications.js';
import type { ProxyRemote } from './proxy.js';
import type { AccessConfig, LogLevel, RegistryConfig, RetentionRule, S3Settings, TlsConfig } from './types.js';
import { settingName, validateTree, type Settings } from './validate.js';

export interface LoadOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** config.yml; defaults to REGISTRY_CONFIGURATION_PATH, else none (defaults and env only). */
  configPath?: string;
  /** Relative paths in the configuration resolve against this; defaults to process.cwd(). */
  cwd?: string;
}

export interface LoadedConfig {
  config: RegistryConfig;
  /** Settings accepted but ignored, unknown variables, deprecations: show them, do not fail. */
  warnings: string[];
}

/** The configuration is unusable; `problems` lists every reason, one line each. */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly warnings: string[] = [],
  ) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULTS = {
  httpAddr: ':5000',
  rootDirectory: './data',
  // Port 0: a free loopback port chosen at start (`registry start` tells the gateway which).
  storageServiceAddr: '127.0.0.1:0',
  realm: 'Registry Realm',
  // A team of 50 pushing at once (docker: up to 5 layers each, plus idle keep-alives) from
  // behind one NAT address stays far below these; 2,000 sockets from one address do not.
  maxConnections: 4096,
  maxConnectionsPerClient: 512,
  uploadPurgeAgeMs: 168 * 3_600_000,
  uploadPurgeIntervalMs: 24 * 3_600_000,
  gcGracePeriodMs: 3_600_000,
  // A team of 50 each pushing a few images at docker's 5 layers at a time stays far below.
  maxUploads: 5_000,
  maxUploadsPerClient: 500,
  // registry:2 (distribution 3) `proxy.ttl`: a week.
  proxyTtlMs: 168 * 3_600_000,
  drainTimeoutMs: 30_000,
  metricsPath: '/metrics',
  // registry:2's defaults for health.storagedriver (registry/handlers/app.go).
  healthIntervalMs: 10_000,
  healthThreshold: 1,
} as const;

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const configPath = options.configPath || env[CONFIG_PATH_VARIABLE] || undefined;

  let root: RawNode = emptyMap({ kind: 'default' });
  if (configPath !== undefined) {
    const file = resolve(cwd, configPath);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new ConfigError([`configuration file ${file}: ${reason}`]);
    }
    let parsed: RawNode | undefined;
    try {
      parsed = parseYamlFile(text, file);
    } catch (error) {
      throw new ConfigError([(error as Error).message]);
    }
    if (parsed === undefined || parsed.kind !== 'map') {
      throw new ConfigError([`${file}: expected a YAML mapping starting with "version: 0.1"`]);
    }
    if (!parsed.entries.has('version')) {
      throw new ConfigError([`${file}: "version: 0.1" is missing (registry:2 requires it too)`]);
    }
    root = parsed;
  }
  if (root.kind !== 'map') throw new Error('unreachable: the root is a mapping');

  const warnings = applyEnvironment(root, env, SCHEMA);
  const { settings, problems, warnings: validationWarnings } = validateTree(SCHEMA, root, cwd);
  warnings.push(...validationWarnings);
  const config = build(settings, cwd, problems, warnings);
  if (problems.length > 0) throw new ConfigError(problems, warnings);
  return { config, warnings };
}

/** Fills defaults and checks the rules that span several settings. */
function build(s: Settings, cwd: string, problems: string[], warnings: string[]): RegistryConfig {
  const named = (path: string) => settingName(path, s.origin(path));
  // A single name for a setting in cross-setting messages: `http.tls.key (REGISTRY_HTTP_TLS_KEY)`.
  const key = (path: string) => `${path} (${envNameOf(path.split('.'))})`;

  let level = s.get<LogLevel>('log.level');
  const deprecatedLevel = s.get<LogLevel>('loglevel');
  if (deprecatedLevel !== undefined) {
    warnings.push(`${named('loglevel')}: deprecated, use log.level`);
    level ??= deprecatedLevel;
  }

  const address = (path: string, fallback: string): string => {
    const text = s.get<string>(path) ?? fallback;
    try {
      return normalizeAddress(parseListenAddress(text.trim()), cwd);
    } catch (error) {
      problems.push(`${named(path)}: ${(error as Error).message}`);
      return fallback;
    }
  };

  // registry:2 `http.net: unix` + `http.addr: /path` is our `unix:/path`.
  let httpAddr: string;
  if (s.get<string>('http.net') === 'unix') {
    const socket = s.get<string>('http.addr');
    if (socket === undefined) {
      problems.push(`${named('http.net')}: "unix" needs ${key('http.addr')} set to the socket path`);
      httpAddr = DEFAULTS.httpAddr;
    } else {
      httpAddr = `unix:${resolve(cwd, socket.replace(/^unix:/, ''))}`;
    }
  } else {
    httpAddr = address('http.addr', DEFAULTS.httpAddr);
  }

  const secret = s.get<string>('http.secret');
  const config: RegistryConfig = {
    log: { level: level ?? 'info', fields: s.get<Record<string, string>>('log.fields') ?? {} },
    storage: {
      driver: 'filesystem',
      redirect: false,
      filesystem: { rootdirectory: s.get<string>('storage.filesystem.rootdirectory') ?? resolve(cwd, DEFAULTS.rootDirectory) },
      delete: { enabled: s.get<boolean>('storage.delete.enabled') ?? false },
      maintenance: {
        uploadpurging: {
          enabled: s.get<boolean>('storage.maintenance.uploadpurging.enabled') ?? true,
          ageMs: s.get<number>('storage.maintenance.uploadpurging.age') ?? DEFAULTS.uploadPurgeAgeMs,
          intervalMs: s.get<number>('storage.maintenance.uploadpurging.interval') ?? DEFAULTS.uploadPurgeIntervalMs,
          dryrun: s.get<boolean>('storage.maintenance.uploadpurging.dryrun') ?? false,
        },
        readonly: { enabled: s.get<boolean>('storage.maintenance.readonly.enabled') ?? false },
        gc: {
          ...optional('intervalMs', s.get<number>('storage.maintenance.gc.interval')),
          gracePeriodMs: s.get<number>('storage.maintenance.gc.graceperiod') ?? DEFAULTS.gcGracePeriodMs,
        },
        retention: s.get<RetentionRule[]>('storage.maintenance.retention') ?? [],
      },
    },
    http: {
      addr: httpAddr,
      relativeurls: s.get<boolean>('http.relativeurls') ?? false,
      headers: s.get<Record<string, string[]>>('http.headers') ?? {},
      cors: { allowedorigins: s.get<string[]>('http.cors.allowedorigins') ?? [] },
      trustedproxies: s.get<string[]>('http.trustedproxies') ?? [],
      maxconnections: s.get<number>('http.maxconnections') ?? DEFAULTS.maxConnections,
      maxconnectionsperclient: s.get<number>('http.maxconnectionsperclient') ?? DEFAULTS.maxConnectionsPerClient,
      draintimeoutMs: s.get<number>('http.draintimeout') ?? DEFAULTS.drainTimeoutMs,
    },
    health: {
      storagedriver: {
        enabled: s.get<boolean>('health.storagedriver.enabled') ?? false,
        intervalMs: s.get<number>('health.storagedriver.interval') ?? DEFAULTS.healthIntervalMs,
        threshold: s.get<number>('health.storagedriver.threshold') ?? DEFAULTS.healthThreshold,
      },
    },
    storageservice: {
      addr: address('storageservice.addr', DEFAULTS.storageServiceAddr),
      maxuploads: s.get<number>('storageservice.maxuploads') ?? DEFAULTS.maxUploads,
      maxuploadsperclient: s.get<number>('storageservice.maxuploadsperclient') ?? DEFAULTS.maxUploadsPerClient,
    },
    ui: { enabled: s.get<boolean>('ui.enabled') ?? true },
  };
  const host = s.get<string>('http.host');
  if (host !== undefined) config.http.host = host;
  if (secret !== undefined) config.http.secret = secret;

  buildStorage(s, config, problems, warnings, named, key);

  const debugAddr = s.get<string>('http.debug.addr');
  const prometheusOn = s.get<boolean>('http.debug.prometheus.enabled') ?? false;
  if (debugAddr !== undefined) {
    config.http.debug = {
      addr: address('http.debug.addr', debugAddr),
      prometheus: { enabled: prometheusOn, path: s.get<string>('http.debug.prometheus.path') ?? DEFAULTS.metricsPath },
    };
  } else if (prometheusOn) {
    warnings.push(`${named('http.debug.prometheus.enabled')}: ignored without ${key('http.debug.addr')} (metrics are served on the debug listener only)`);
  }

  const tls = buildTls(s, cwd, problems, warnings, named, key);
  if (tls) {
    config.http.tls = tls;
    if (tls.addr !== undefined && tls.addr === httpAddr) {
      problems.push(`${named('http.tls.addr')}: HTTPS cannot listen on ${key('http.addr')} too (${httpAddr}); pick another address, or unset http.tls.addr to serve HTTPS on http.addr`);
    }
  }

  if (s.has('auth.htpasswd')) {
    const path = s.get<string>('auth.htpasswd.path');
    if (path === undefined) problems.push(`${key('auth.htpasswd.path')}: required with htpasswd auth (the htpasswd file, e.g. /auth/htpasswd)`);
    config.auth = {
      htpasswd: {
        realm: s.get<string>('auth.htpasswd.realm') ?? DEFAULTS.realm,
        path: path ?? '',
        refuseinsecure: s.get<boolean>('auth.htpasswd.refuseinsecure') ?? false,
      },
    };
  }

  const access = buildAccess(s, problems, warnings, named, key, config.auth?.htpasswd !== undefined);
  if (access) config.access = access;

  const endpoints = s.get<NotificationEndpoint[]>('notifications.endpoints');
  if (endpoints !== undefined && endpoints.length > 0) config.notifications = { endpoints };
  const proxy = buildProxy(s, problems, named);
  if (proxy) config.proxy = proxy;

  const token = s.get<string>('storageservice.token') ?? secret;
  if (token !== undefined) config.storageservice.token = token;
  const url = s.get<string>('storageservice.url');
  if (url !== undefined) config.storageservice.url = url;
  const storageAddr = config.storageservice.addr;
  if (token === undefined && !isLoopbackAddress(parseListenAddress(storageAddr))) {
    problems.push(
      `${named('storageservice.addr')}: storage would listen on ${storageAddr}, reachable from other machines, without a token; ` +
        `set ${key('storageservice.token')} or ${key('http.secret')} (the same value for storage and gateway), ` +
        'or listen on loopback (127.0.0.1:5001) or a unix socket',
    );
  }
  return config;
}

const MIN_S3_CHUNK = 5 * 1024 * 1024;

/** The storage driver: filesystem unless storage.s3 is configured (or selected by REGISTRY_STORAGE=s3). */
function buildStorage(
  s: Settings,
  config: RegistryConfig,
  problems: string[],
  warnings: string[],
  named: (path: string) => string,
  key: (path: string) => string,
): void {
  const redirectSet = s.has('storage.redirect.disable');
  if (!s.has('storage.s3')) {
    if (redirectSet && s.get<boolean>('storage.redirect.disable') === false) {
      warnings.push(`${named('storage.redirect.disable')}: redirects need the s3 driver; the filesystem driver streams blobs`);
    }
    return;
  }
  if (s.has('storage.filesystem')) {
    problems.push(
      `${named('storage.filesystem')}: a second storage driver next to ${key('storage.s3')}; configure one (REGISTRY_STORAGE=s3 selects s3 and ignores the filesystem settings)`,
    );
    return;
  }
  const str = (k: string) => s.get<string>(`storage.s3.${k}`);
  const int = (k: string) => s.get<number>(`storage.s3.${k}`);
  const bool = (k: string) => s.get<boolean>(`storage.s3.${k}`);
  const bucket = str('bucket');
  if (bucket === undefined) problems.push(`${key('storage.s3.bucket')}: required with the s3 driver`);
  const regionendpoint = str('regionendpoint');
  const region = str('region') ?? (regionendpoint !== undefined ? 'us-east-1' : undefined);
  if (region === undefined) problems.push(`${key('storage.s3.region')}: required with the s3 driver (or give storage.s3.regionendpoint)`);
  const chunksize = int('chunksize') ?? 10 * 1024 * 1024;
  if (chunksize < MIN_S3_CHUNK) problems.push(`${named('storage.s3.chunksize')}: at least ${MIN_S3_CHUNK} (5 MiB, S3's smallest part), got ${chunksize}`);
  const accesskey = str('accesskey');
  const secretkey = str('secretkey');
  if ((accesskey === undefined) !== (secretkey === undefined)) {
    problems.push(`${key(accesskey === undefined ? 'storage.s3.accesskey' : 'storage.s3.secretkey')}: give both the access key and the secret key, or neither (AWS environment, files or roles)`);
  }
  const s3: S3Settings = {
    bucket: bucket ?? '',
    region: region ?? '',
    rootdirectory: str('rootdirectory') ?? '',
    forcepathstyle: bool('forcepathstyle') ?? false,
    chunksize,
    secure: bool('secure') ?? true,
    skipverify: bool('skipverify') ?? false,
    encrypt: bool('encrypt') ?? false,
    multipartcopychunksize: Math.max(int('multipartcopychunksize') ?? 32 * 1024 * 1024, MIN_S3_CHUNK),
    multipartcopymaxconcurrency: int('multipartcopymaxconcurrency') ?? 100,
    multipartcopythresholdsize: int('multipartcopythresholdsize') ?? 32 * 1024 * 1024,
  };
  for (const k of ['regionendpoint', 'accesskey', 'secretkey', 'sessiontoken', 'keyid', 'storageclass', 'objectacl'] as const) {
    const text = str(k);
    if (text !== undefined) s3[k] = text;
  }
  config.storage.driver = 's3';
  config.storage.s3 = s3;
  // registry:2 redirects unless disabled; here downloads stream through storage unless
  // `disable: false` is written (a bucket is often not reachable by clients).
  config.storage.redirect = redirectSet && s.get<boolean>('storage.redirect.disable') === false;
  if (!redirectSet) warnings.push(`${key('storage.redirect.disable')}: not set, so blobs stream through storage (registry:2 would redirect to the bucket; set it to false for that)`);
}

function buildTls(
  s: Settings,
  cwd: string,
  problems: string[],
  warnings: string[],
  named: (path: string) => string,
  key: (path: string) => string,
): TlsConfig | undefined {
  const certificate = s.get<string>('http.tls.certificate');
  const tlsKey = s.get<string>('http.tls.key');
  const addrText = s.get<string>('http.tls.addr');
  if (certificate === undefined && tlsKey === undefined) {
    if (addrText !== undefined) problems.push(`${named('http.tls.addr')}: HTTPS needs ${key('http.tls.certificate')} and ${key('http.tls.key')}`);
    else if (s.has('http.tls.minimumtls')) warnings.push(`${named('http.tls.minimumtls')}: ignored, TLS is off (no certificate and key)`);
    return undefined;
  }
  if (certificate === undefined || tlsKey === undefined) {
    const missing = certificate === undefined ? 'http.tls.certificate' : 'http.tls.key';
    const given = certificate === undefined ? 'http.tls.key' : 'http.tls.certificate';
    problems.push(`${key(missing)}: required because ${named(given)} is set (TLS needs both the certificate and its key)`);
    return undefined;
  }
  const tls: TlsConfig = { certificate, key: tlsKey, minimumtls: s.get<'tls1.2' | 'tls1.3'>('http.tls.minimumtls') ?? 'tls1.2' };
  if (addrText !== undefined) {
    try {
      tls.addr = normalizeAddress(parseListenAddress(addrText.trim()), cwd);
    } catch (error) {
      problems.push(`${named('http.tls.addr')}: ${(error as Error).message}`);
    }
  }
  return tls;
}

/** `access.path`, or the policy inline; the policy itself is checked by the gateway's reader. */
function buildAccess(
  s: Settings,
  problems: string[],
  warnings: string[],
  named: (path: string) => string,
  key: (path: string) => string,
  authOn: boolean,
): AccessConfig | undefined {
  if (!s.has('access')) return undefined;
  const path = s.get<string>('access.path');
  const inline = ACCESS_POLICY_KEYS.filter((part) => s.has(`access.${part}`));
  if (path === undefined && inline.length === 0) {
    // Empty means unset (an empty REGISTRY_ACCESS_PATH too): no policy, as without the section.
    warnings.push(`${named('access')}: empty, so no access policy: every authenticated user may do everything`);
    return undefined;
  }
  if (path !== undefined && inline.length > 0) {
    problems.push(`${named('access.path')}: give either a policy file or an inline policy (access.${inline[0]}), not both`);
    return undefined;
  }
  if (!authOn) {
    problems.push(`${named('access')}: an access policy needs ${key('auth.htpasswd.path')} (without auth every request is anonymous)`);
    return undefined;
  }
  if (path !== undefined) return { path };
  const policy = emptyMap(s.origin('access'));
  for (const part of inline) policy.entries.set(part, s.get<RawNode>(`access.${part}`)!);
  return { inline: policy };
}

/** registry:2's single upstream (`proxy.remoteurl`) and the upstreams by prefix (`proxy.remotes`). */
function buildProxy(s: Settings, problems: string[], named: (path: string) => string): RegistryConfig['proxy'] {
  if (!s.has('proxy')) return undefined;
  const ttlMs = s.get<number>('proxy.ttl') ?? DEFAULTS.proxyTtlMs;
  const remotes: ProxyRemote[] = (s.get<Array<Omit<ProxyRemote, 'ttlMs'> & { ttlMs?: number }>>('proxy.remotes') ?? []).map((r) => ({ ...r, ttlMs: r.ttlMs ?? ttlMs }));
  const remoteurl = s.get<string>('proxy.remoteurl');
  if (remoteurl !== undefined) {
    const remote: ProxyRemote = { prefix: '', remoteurl, ttlMs };
    const username = s.get<string>('proxy.username');
    const password = s.get<string>('proxy.password');
    if (username !== undefined) remote.username = username;
    if (password !== undefined) remote.password = password;
    remotes.push(remote);
  } else {
    for (const key of ['proxy.username', 'proxy.password']) {
      if (s.has(key)) problems.push(`${named(key)}: needs proxy.remoteurl (REGISTRY_PROXY_REMOTEURL); credentials of an upstream in proxy.remotes go in its entry`);
    }
  }
  if (remotes.length === 0) return undefined;
  return { remotes };
}

/** Unix socket paths become absolute; everything else is kept as written. */
function normalizeAddress(address: ListenAddress, cwd: string): string {
  if (address.kind === 'unix') return formatListenAddress({ kind: 'unix', path: resolve(cwd, address.path) });
  return formatListenAddress(address);
}

/** `{key: value}`, or nothing when the setting is unset (no key holding undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

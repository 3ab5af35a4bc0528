// Every key config.yml may hold, in registry:2's layout, plus this project's own settings.
// The same tree resolves `REGISTRY_*` environment variables, so both stay in step.
import type { RawNode } from './raw.js';
import * as v from './values.js';
import { notificationEndpoints } from './notifications.js';
import { proxyRemotes } from './proxy.js';

export type SchemaNode = SectionNode | ValueNode | MapNode | IgnoredNode | RejectedNode;

export interface SectionNode {
  kind: 'section';
  children: Record<string, SchemaNode>;
  /**
   * Sections that select a type by key (`storage: {s3: ...}`, `auth: {token: ...}`): any other
   * key is an error with this message, from the file or from the environment.
   */
  unknownKey?: (key: string) => string;
  /** registry:2 also accepts the type as a plain value (`REGISTRY_AUTH=htpasswd`). */
  scalarSelectsKey?: boolean;
  /**
   * Keys that are alternatives (storage drivers): `REGISTRY_STORAGE=s3` selects one and the
   * others are dropped with a warning naming them, whatever else is set.
   */
  alternatives?: readonly string[];
}

export interface ValueNode {
  kind: 'value';
  parse: v.ValueParser;
}

/** Free-form keys (`log.fields`, `http.headers`), each value parsed alike. */
export interface MapNode {
  kind: 'map';
  checkKey?: (key: string) => void;
  parse: v.ValueParser;
}

/** Accepted and not used; a warning says so when we behave differently from registry:2. */
export interface IgnoredNode {
  kind: 'ignored';
  warning?: string;
}

/** registry:2 settings whose absence here would weaken security: any value is an error. */
export interface RejectedNode {
  kind: 'rejected';
  message: string;
}

const section = (children: Record<string, SchemaNode>, extra: Partial<SectionNode> = {}): SectionNode => ({
  kind: 'section',
  children,
  ...extra,
});
const value = (parse: v.ValueParser): ValueNode => ({ kind: 'value', parse });
const ignored = (warning?: string): IgnoredNode => ({ kind: 'ignored', warning });
const rejected = (message: string): RejectedNode => ({ kind: 'rejected', message });
const notImplemented = (what: string): IgnoredNode => ignored(`ignored, this registry does not implement ${what}`);

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const formatter: v.ValueParser<string> = (node, ctx) => {
  const text = v.string(node, ctx);
  if (text !== 'json') ctx.warn(`formatter "${text}" is not available: logs are always JSON lines`);
  return text;
};

const minimumTls: v.ValueParser<'tls1.2' | 'tls1.3'> = (node, ctx) => {
  const text = v.string(node, ctx).trim().toLowerCase();
  if (text === 'tls1.2' || text === 'tls1.3') return text;
  if (text === 'tls1.0' || text === 'tls1.1') {
    ctx.warn(`${text} is too old and no longer offered; using tls1.2`);
    return 'tls1.2';
  }
  throw new v.ValueProblem(`expected tls1.2 or tls1.3, got ${JSON.stringify(text)}`);
};

const prefix: v.ValueParser<string> = (node, ctx) => {
  const text = v.string(node, ctx).trim();
  if (text !== '' && text !== '/') {
    throw new v.ValueProblem('serving the API under a path prefix is not supported yet (only "/")');
  }
  return text;
};

/** `http.debug.prometheus.path`: an absolute URL path such as /metrics. */
const metricsPath: v.ValueParser<string> = (node, ctx) => {
  const text = v.string(node, ctx).trim();
  if (!/^\/[A-Za-z0-9._~\/-]*$/.test(text)) throw new v.ValueProblem(`expected a URL path such as /metrics, got ${JSON.stringify(text)}`);
  return text;
};

const version: v.ValueParser<string> = (node) => {
  if (node.kind !== 'scalar' || node.text.trim() !== '0.1') {
    throw new v.ValueProblem(`expected 0.1 (the only configuration version), got ${node.kind === 'scalar' ? JSON.stringify(node.text) : `a ${node.kind}`}`);
  }
  return '0.1';
};

/**
 * Project setting: the access policy (who may pull, push, delete what), in a file (`path`) or
 * inline with the same keys as the file. The inline parts are kept as YAML trees, with their
 * lines, for the gateway's policy reader (gateway/access), which checks them.
 */
const policyPart: v.ValueParser<RawNode> = (node) => node;
export const ACCESS_POLICY_KEYS = ['groups', 'admins', 'rules'] as const;
const ACCESS: SectionNode = section({
  path: value(v.path),
  ...Object.fromEntries(ACCESS_POLICY_KEYS.map((key) => [key, value(policyPart)])),
});

export const STORAGE_DRIVERS_SUPPORTED = ['filesystem', 's3'];

/** registry:2's `storage.s3` keys (docs/configuration.md); the AWS SDK handles what is left out. */
const S3: SectionNode = section({
  accesskey: value(v.string),
  secretkey: value(v.string),
  sessiontoken: value(v.string),
  region: value(v.string),
  regionendpoint: value(v.string),
  forcepathstyle: value(v.boolean),
  bucket: value(v.string),
  encrypt: value(v.boolean),
  keyid: value(v.string),
  secure: value(v.boolean),
  skipverify: value(v.boolean),
  v4auth: ignored(),
  chunksize: value(v.positiveInteger),
  multipartcopychunksize: value(v.positiveInteger),
  multipartcopymaxconcurrency: value(v.positiveInteger),
  multipartcopythresholdsize: value(v.positiveInteger),
  rootdirectory: value(v.string),
  storageclass: value(v.string),
  objectacl: value(v.string),
  loglevel: ignored(),
  useragent: ignored(),
  usedualstack: ignored('usedualstack is not supported; ignored'),
  accelerate: ignored('accelerate is not supported; ignored'),
  checksumdisabled: ignored(),
});
export const AUTH_TYPES_SUPPORTED = ['htpasswd'];

export const SCHEMA: SectionNode = section({
  version: value(version),
  log: section({
    level: value(v.oneOf(LOG_LEVELS, true)),
    formatter: value(formatter),
    fields: { kind: 'map', parse: v.scalarAsText },
    accesslog: notImplemented('log.accesslog'),
    hooks: notImplemented('log hooks (e-mail on errors)'),
    reportcaller: notImplemented('reportcaller'),
  }),
  /** Deprecated in registry:2 in favour of log.level; still read. */
  loglevel: value(v.oneOf(LOG_LEVELS, true)),
  storage: section(
    {
      filesystem: section({
        rootdirectory: value(v.path),
        maxthreads: ignored('filesystem maxthreads has no meaning here (Node does file I/O on its own pool); ignored'),
      }),
      delete: section({ enabled: value(v.boolean) }),
      maintenance: section({
        uploadpurging: section({
          enabled: value(v.boolean),
          age: value(v.duration),
          interval: value(v.duration),
          dryrun: value(v.boolean),
        }),
        readonly: section({ enabled: value(v.boolean) }),
        // Project settings (registry:2 ignores unknown maintenance keys): online garbage
        // collection and retention rules (storage/registry/garbage-collector.ts).
        gc: section({ interval: value(v.duration), graceperiod: value(v.durationOrZero) }),
        retention: value(v.retentionRules),
      }),
      s3: S3,
      cache: ignored(),
      redirect: section({ disable: value(v.boolean) }),
      tag: notImplemented('storage.tag (tag lookup concurrency)'),
    },
    {
      unknownKey: (key) => `storage driver "${key}" is not supported yet (supported: ${STORAGE_DRIVERS_SUPPORTED.join(', ')})`,
      scalarSelectsKey: true,
      alternatives: STORAGE_DRIVERS_SUPPORTED,
    },
  ),
  auth: section(
    {
      htpasswd: section({
        realm: value(v.string),
        path: value(v.path),
        refuseinsecure: value(v.boolean),
      }),
    },
    {
      unknownKey: (key) => `auth type "${key}" is not supported (supported: ${AUTH_TYPES_SUPPORTED.join(', ')})`,
      scalarSelectsKey: true,
    },
  ),
  http: section({
    addr: value(v.string),
    net: value(v.oneOf(['tcp', 'unix'] as const)),
    host: value(v.httpUrl),
    prefix: value(prefix),
    secret: value(v.string),
    relativeurls: value(v.boolean),
    draintimeout: value(v.duration),
    tls: section({
      certificate: value(v.path),
      key: value(v.path),
      minimumtls: value(minimumTls),
      addr: value(v.string),
      clientcas: rejected('client certificate authentication is not supported yet'),
      ciphersuites: notImplemented('http.tls.ciphersuites (TLS 1.2 offers ECDHE with AES-GCM or ChaCha20-Poly1305 only)'),
      letsencrypt: rejected("Let's Encrypt is not supported; give certificate and key files"),
    }),
    headers: { kind: 'map', checkKey: v.checkHeaderName, parse: v.headerValues },
    cors: section({ allowedorigins: value(v.originList) }),
    debug: section({
      addr: value(v.string),
      prometheus: section({ enabled: value(v.boolean), path: value(metricsPath) }),
      tls: notImplemented('TLS on the debug server (keep it on loopback or a private network)'),
    }),
    http2: ignored(),
    trustedproxies: value(v.addressList),
    maxconnections: value(v.positiveInteger),
    maxconnectionsperclient: value(v.positiveInteger),
  }),
  health: section({
    storagedriver: section({ enabled: value(v.boolean), interval: value(v.duration), threshold: value(v.positiveInteger) }),
    file: notImplemented('health.file checks'),
    http: notImplemented('health.http checks'),
    tcp: notImplemented('health.tcp checks'),
  }),
  middleware: notImplemented('middleware (CloudFront, redirects, ...)'),
  reporting: notImplemented('error reporting (Bugsnag, New Relic)'),
  notifications: section({
    endpoints: value(notificationEndpoints),
    events: section({ includereferences: notImplemented('notifications.events.includereferences (references in manifest events)') }),
  }),
  redis: notImplemented('the redis cache'),
  catalog: notImplemented('catalog.maxentries'),
  proxy: section({
    remoteurl: value(v.httpUrl),
    username: value(v.string),
    password: value(v.string),
    ttl: value(v.duration),
    remotes: value(proxyRemotes),
  }),
  compatibility: notImplemented('schema1 compatibility'),
  validation: notImplemented('manifest URL validation'),
  policy: notImplemented('repository class policy'),
  access: ACCESS,
  ui: section({ enabled: value(v.boolean) }),
  storageservice: section({
    addr: value(v.string),
    token: value(v.string),
    url: value(v.httpUrl),
    maxuploads: value(v.positiveInteger),
    maxuploadsperclient: value(v.positiveInteger),
  }),
});

// The typed configuration both processes read once at start-up. It mirrors registry:2's
// config.yml (the parts that apply); settings only this project has live under the same
// scheme (`REGISTRY_` + the path). The loader (load.ts) fills every field with its default.
import type { NotificationEndpoint } from './notifications.js';
import type { ProxyRemote } from './proxy.js';
import type { RawMap } from './raw.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface TlsConfig {
  /** PEM certificate chain (registry:2 `http.tls.certificate`). */
  certificate: string;
  /** PEM private key (registry:2 `http.tls.key`). */
  key: string;
  /** 'tls1.2' (default) or 'tls1.3' (registry:2 `http.tls.minimumtls`). */
  minimumtls: 'tls1.2' | 'tls1.3';
  /**
   * Project setting: when set, HTTPS listens here and plain HTTP stays on `http.addr`
   * (80 and 443 at once). When unset, `http.addr` itself speaks TLS, as registry:2 does.
   */
  addr?: string;
}

/** registry:2's `storage.s3` settings (the ones that have a meaning here). */
export interface S3Settings {
  region: string;
  bucket: string;
  /** Endpoint of an S3-compatible service (`http://127.0.0.1:7480`); AWS when unset. */
  regionendpoint?: string;
  accesskey?: string;
  secretkey?: string;
  sessiontoken?: string;
  /** Key prefix for everything the registry writes (registry:2 `rootdirectory`). */
  rootdirectory: string;
  forcepathstyle: boolean;
  /** Multipart part size for uploads, at least 5 MiB (default 10 MiB). */
  chunksize: number;
  /** Use https to an endpoint given without a scheme (default true). */
  secure: boolean;
  skipverify: boolean;
  /** Server-side encryption (AES256, or aws:kms with `keyid`). */
  encrypt: boolean;
  keyid?: string;
  storageclass?: string;
  objectacl?: string;
  multipartcopychunksize: number;
  multipartcopymaxconcurrency: number;
  multipartcopythresholdsize: number;
}

export interface RegistryConfig {
  log: {
    level: LogLevel;
    /** Static fields added to every log line (registry:2 `log.fields`). */
    fields: Record<string, string>;
  };
  storage: {
    /** The driver in use: filesystem (default) or s3 (`storage.s3`, or REGISTRY_STORAGE=s3). */
    driver: 'filesystem' | 's3';
    filesystem: { rootdirectory: string };
    s3?: S3Settings;
    /**
     * Blob downloads answered with a redirect to a presigned URL of the object store (s3 only).
     * Off unless `storage.redirect.disable: false` is written (registry:2 redirects by default).
     */
    redirect: boolean;
    delete: { enabled: boolean };
    maintenance: {
      uploadpurging: { enabled: boolean; ageMs: number; intervalMs: number; dryrun: boolean };
      readonly: { enabled: boolean };
      /** Project setting: online garbage collection; `intervalMs` undefined = only on demand. */
      gc: { intervalMs?: number; gracePeriodMs: number };
      /** Project setting: retention rules the collection applies, first matching rule wins. */
      retention: RetentionRule[];
    };
  };
  http: {
    /** Gateway listen address, `host:port` or `:port` (default `:5000`). */
    addr: string;
    /** External base URL used for absolute `Location` headers (registry:2 `http.host`). */
    host?: string;
    /** Secret for signing upload state (registry:2 `http.secret`); also the default internal token. */
    secret?: string;
    relativeurls: boolean;
    tls?: TlsConfig;
    /** Extra response headers (registry:2 `http.headers`). */
    headers: Record<string, string[]>;
    /**
     * Project setting: browser origins (other websites, e.g. a third-party UI) allowed to call the
     * API with credentials (CORS). Empty: no CORS headers but those of `headers`.
     */
    cors: { allowedorigins: string[] };
    /** Project setting: addresses/CIDRs whose forwarded headers are believed (none by default). */
    trustedproxies: string[];
    /** Project setting: open client connections in all (default 4096). */
    maxconnections?: number;
    /** Project setting: open connections per client address, trusted proxies exempt (default 512). */
    maxconnectionsperclient?: number;
    /**
     * registry:2 `http.draintimeout`: after SIGTERM, how long requests on connections already
     * open are still served before the process exits (default 30 s).
     */
    draintimeoutMs: number;
    /** registry:2 `http.debug`: the debug listener (Prometheus metrics); off unless `addr` is set. */
    debug?: {
      addr: string;
      prometheus: { enabled: boolean; path: string };
    };
  };
  /** registry:2 `health.storagedriver`: a periodic check of storage; `threshold` failures in a row make it unhealthy. */
  health: {
    storagedriver: { enabled: boolean; intervalMs: number; threshold: number };
  };
  auth?: {
    htpasswd?: {
      realm: string;
      path: string;
      /** Project setting: refuse {SHA}, crypt and plaintext lines instead of warning (default false). */
      refuseinsecure: boolean;
    };
  };
  /** Project settings: the storage service behind the gateway. */
  storageservice: {
    /** `host:port` (default `127.0.0.1:0`: a free loopback port chosen at start) or `unix:/path/to.sock`. */
    addr: string;
    /**
     * Shared token the gateway adds and storage requires. Defaults to `http.secret`; without
     * either, `registry start` generates one per run and `registry storage` alone refuses to
     * start unless it listens on a private unix socket.
     */
    token?: string;
    /** Base URL the gateway proxies to (default derived from `addr`). */
    url?: string;
    /** Open upload sessions storage accepts in total (default 5000); past it, 429. */
    maxuploads: number;
    /** Open upload sessions per client, by user or else address (default 500); past it, 429. */
    maxuploadsperclient: number;
  };
  /**
   * Project setting: who may pull, push and delete what (gateway/access). Unset: every
   * authenticated user may do everything, as registry:2.
   */
  access?: AccessConfig;
  /** Project setting: the web UI the gateway serves at `/` (default on). */
  ui: { enabled: boolean };
  /** registry:2 `notifications.endpoints`: webhooks told of every push, pull, delete and mount. */
  notifications?: { endpoints: NotificationEndpoint[] };
  /**
   * registry:2 `proxy` (pull-through cache): `remoteurl` becomes the remote with an empty prefix;
   * `proxy.remotes` (project setting) adds upstreams by name prefix. Unset: no cache.
   */
  proxy?: { remotes: ProxyRemote[] };
}

/** The policy file (followed live), or the policy written inline in config.yml (YAML tree with lines). */
export type AccessConfig = { path: string } | { inline: RawMap };

/** One retention rule (`storage.maintenance.retention`): what a collection keeps in the repositories it matches. */
export interface RetentionRule {
  /** Glob over repository names: `*` within a path segment, `**` across segments. */
  repositories: string;
  /** Keep the N most recently pushed tags (others are deleted); undefined = keep all. */
  keeptags?: number;
  /** Tags matching this regular expression are always kept. */
  keeptagsmatching?: string;
  /** Delete manifests no tag reaches once they are older than this (ms); undefined = keep them. */
  deleteuntaggedafterMs?: number;
}

// The typed configuration both processes read once at start-up. It mirrors registry:2's
// config.yml (the parts that apply); settings only this project has live under the same
// scheme (`REGISTRY_` + the path). The loader (load.ts) fills every field with its default.
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

export interface RegistryConfig {
  log: {
    level: LogLevel;
    /** Static fields added to every log line (registry:2 `log.fields`). */
    fields: Record<string, string>;
  };
  storage: {
    filesystem: { rootdirectory: string };
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
    /** Project setting: addresses/CIDRs whose forwarded headers are believed (none by default). */
    trustedproxies: string[];
    /** Project setting: open client connections in all (default 4096). */
    maxconnections?: number;
    /** Project setting: open connections per client address, trusted proxies exempt (default 512). */
    maxconnectionsperclient?: number;
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

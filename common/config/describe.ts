// The effective configuration as people read it (registry:2's YAML layout), secrets masked.
// `registry config check` prints it; safe to paste into an issue or a log.
import { stringify } from 'yaml';
import { formatGoDuration } from './duration.js';
import type { RawNode } from './raw.js';
import type { AccessConfig, RegistryConfig } from './types.js';

export const MASK = '[redacted]';

/** The configuration in config.yml layout (durations as `168h`), without secrets. */
export function effectiveSettings(config: RegistryConfig): Record<string, unknown> {
  const purging = config.storage.maintenance.uploadpurging;
  const { gc, retention } = config.storage.maintenance;
  const http: Record<string, unknown> = {
    addr: config.http.addr,
    ...(config.http.host !== undefined && { host: config.http.host }),
    ...(config.http.secret !== undefined && { secret: MASK }),
    relativeurls: config.http.relativeurls,
    ...(config.http.tls && { tls: { ...config.http.tls } }),
    headers: config.http.headers,
    ...(config.http.cors.allowedorigins.length > 0 && { cors: { allowedorigins: config.http.cors.allowedorigins } }),
    trustedproxies: config.http.trustedproxies,
  };
  return {
    version: '0.1',
    log: { level: config.log.level, fields: config.log.fields },
    storage: {
      ...(config.storage.s3
        ? {
            s3: {
              ...config.storage.s3,
              ...(config.storage.s3.secretkey !== undefined && { secretkey: MASK }),
              ...(config.storage.s3.sessiontoken !== undefined && { sessiontoken: MASK }),
            },
            redirect: { disable: !config.storage.redirect },
          }
        : { filesystem: { rootdirectory: config.storage.filesystem.rootdirectory } }),
      delete: { enabled: config.storage.delete.enabled },
      maintenance: {
        uploadpurging: {
          enabled: purging.enabled,
          age: formatGoDuration(purging.ageMs),
          interval: formatGoDuration(purging.intervalMs),
          dryrun: purging.dryrun,
        },
        readonly: { enabled: config.storage.maintenance.readonly.enabled },
        gc: {
          ...(gc.intervalMs !== undefined && { interval: formatGoDuration(gc.intervalMs) }),
          graceperiod: formatGoDuration(gc.gracePeriodMs),
        },
        ...(retention.length > 0 && {
          retention: retention.map(({ deleteuntaggedafterMs, ...rule }) => ({
            ...rule,
            ...(deleteuntaggedafterMs !== undefined && { deleteuntaggedafter: formatGoDuration(deleteuntaggedafterMs) }),
          })),
        }),
      },
    },
    http,
    ...(config.auth?.htpasswd && { auth: { htpasswd: { ...config.auth.htpasswd } } }),
    storageservice: {
      addr: config.storageservice.addr,
      ...(config.storageservice.token !== undefined && { token: MASK }),
      ...(config.storageservice.url !== undefined && { url: maskUrlPassword(config.storageservice.url) }),
    },
    ...(config.access && { access: describeAccess(config.access) }),
    ui: { enabled: config.ui.enabled },
    ...(config.notifications && { notifications: { endpoints: config.notifications.endpoints.map(describeEndpoint) } }),
    ...(config.proxy && { proxy: describeProxy(config.proxy) }),
  };
}

/** Header values often hold a token (`Authorization: Bearer …`): only their names are shown. */
function describeEndpoint(e: NonNullable<RegistryConfig['notifications']>['endpoints'][number]): Record<string, unknown> {
  return {
    name: e.name,
    url: maskUrlPassword(e.url),
    headers: Object.fromEntries(Object.keys(e.headers).map((name) => [name, [MASK]])),
    timeout: formatGoDuration(e.timeoutMs),
    threshold: e.threshold,
    backoff: formatGoDuration(e.backoffMs),
    ignore: { mediatypes: e.ignoredMediaTypes, actions: e.ignoredActions },
    disabled: e.disabled,
    queuesize: e.queuesize,
  };
}

function describeProxy(proxy: NonNullable<RegistryConfig['proxy']>): Record<string, unknown> {
  const describe = (r: (typeof proxy.remotes)[number]) => ({
    remoteurl: maskUrlPassword(r.remoteurl),
    ...(r.username !== undefined && { username: r.username }),
    ...(r.password !== undefined && { password: MASK }),
    ttl: formatGoDuration(r.ttlMs),
  });
  const single = proxy.remotes.find((r) => r.prefix === '');
  const remotes = proxy.remotes.filter((r) => r.prefix !== '').map((r) => ({ prefix: r.prefix, ...describe(r) }));
  return { ...(single && describe(single)), ...(remotes.length > 0 && { remotes }) };
}

function describeAccess(access: AccessConfig): unknown {
  return 'path' in access ? { path: access.path } : plainValue(access.inline);
}

/** A YAML tree back as plain data, values as written. */
function plainValue(node: RawNode): unknown {
  if (node.kind === 'map') return Object.fromEntries([...node.entries].map(([key, child]) => [key, plainValue(child)]));
  if (node.kind === 'list') return node.items.map(plainValue);
  return node.value;
}

/** effectiveSettings as YAML text. */
export function describeSettings(config: RegistryConfig): string {
  return stringify(effectiveSettings(config), { lineWidth: 0 });
}

function maskUrlPassword(text: string): string {
  const url = new URL(text);
  if (url.password === '') return text;
  url.password = MASK;
  return url.toString();
}

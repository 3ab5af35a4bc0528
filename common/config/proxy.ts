// registry:2's `proxy` section (pull-through cache) and this project's `proxy.remotes`: several
// upstreams by repository name prefix (REGISTRY_PROXY_REMOTES holds the whole list as YAML).
import { checkKeys, durationOf, listOf, mapOf } from './notifications.js';
import * as v from './values.js';

/** One upstream of the pull-through cache. */
export interface ProxyRemote {
  /**
   * Repository names starting with `<prefix>/` are fetched from this upstream without the prefix
   * (`docker.io/library/busybox` -> `library/busybox`), and so are requests with containerd's
   * `?ns=<prefix>`. Empty for registry:2's single `proxy.remoteurl`: every other name.
   */
  prefix: string;
  remoteurl: string;
  username?: string;
  password?: string;
  /** How long a cached tag is served before the upstream is asked again. */
  ttlMs: number;
}

const REMOTE_KEYS = ['prefix', 'remoteurl', 'username', 'password', 'ttl'] as const;
const PREFIX = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** `proxy.remotes`: the upstreams by name prefix; ttl defaults to the section's later. */
export const proxyRemotes: v.ValueParser<Array<Omit<ProxyRemote, 'ttlMs'> & { ttlMs?: number }>> = (node, ctx) => {
  const prefixes = new Set<string>();
  return listOf(node, 'remotes').map((item, index) => {
    const where = `remote ${index + 1}`;
    const entries = mapOf(item, where);
    checkKeys(entries, REMOTE_KEYS, where);
    const prefixNode = entries.get('prefix');
    const urlNode = entries.get('remoteurl');
    if (!prefixNode || !urlNode) throw new v.ValueProblem(`${where}: prefix and remoteurl are required`);
    const prefix = v.string(prefixNode, ctx).trim().replace(/\/+$/, '');
    if (!PREFIX.test(prefix)) throw new v.ValueProblem(`${where}: prefix "${prefix}" is not a registry host or repository path (e.g. docker.io, ghcr.io)`);
    if (prefixes.has(prefix)) throw new v.ValueProblem(`${where}: prefix "${prefix}" is given twice`);
    prefixes.add(prefix);
    const remote: Omit<ProxyRemote, 'ttlMs'> & { ttlMs?: number } = { prefix, remoteurl: v.httpUrl(urlNode, ctx) };
    if (entries.get('username')) remote.username = v.string(entries.get('username')!, ctx);
    if (entries.get('password')) remote.password = v.string(entries.get('password')!, ctx);
    if (entries.get('ttl')) remote.ttlMs = durationOf(entries.get('ttl')!, `${where} ttl`);
    return remote;
  });
};

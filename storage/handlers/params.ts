// Route parameters, validated once: names, digests and upload ids never reach the driver raw.
import type { Context } from 'koa';
import { parseDigest, type ParsedDigest } from '../../common/digest.js';
import { RegistryError } from '../../common/errors.js';
import { assertName } from '../../common/names.js';
import type { ProxyCache, ProxyRoute } from '../proxy-cache/proxy-cache.js';

export function nameParam(ctx: Context): string {
  const raw = (ctx.params as Record<string, string | string[]>).name;
  const name = Array.isArray(raw) ? raw.join('/') : raw ?? '';
  assertName(name);
  return name;
}

export function stringParam(ctx: Context, key: string): string {
  const value = (ctx.params as Record<string, string | undefined>)[key];
  if (value === undefined) throw new RegistryError('UNSUPPORTED', `missing ${key}`);
  return value;
}

export function digestParam(ctx: Context, key = 'digest'): ParsedDigest {
  return parseDigest(stringParam(ctx, key));
}

export function requireDeleteEnabled(enabled: boolean): void {
  if (!enabled) throw new RegistryError('UNSUPPORTED', 'deletion is disabled (REGISTRY_STORAGE_DELETE_ENABLED=true enables it)');
}

/** The pull-through cache's route for the request's repository (and containerd's `?ns=`), if it is cached. */
export function proxyRoute(ctx: Context, proxy: ProxyCache | undefined, name: string): ProxyRoute | undefined {
  return proxy?.route(name, ctx.query.ns);
}

// `Location` headers: relative when configured (REGISTRY_HTTP_RELATIVEURLS), otherwise absolute,
// from `http.host` or from the external scheme and host the gateway forwards.
import type { Context } from 'koa';
import { EXTERNAL_HOST_HEADER, EXTERNAL_PROTO_HEADER } from '../../common/internal-headers.js';
import type { StorageOptions } from './context.js';

export function location(ctx: Context, options: StorageOptions, path: string): string {
  if (options.relativeUrls) return path;
  if (options.externalBaseUrl) return `${options.externalBaseUrl.replace(/\/+$/, '')}${path}`;
  const proto = firstValue(ctx.get(EXTERNAL_PROTO_HEADER)) || 'http';
  const host = firstValue(ctx.get(EXTERNAL_HOST_HEADER)) || ctx.get('host');
  return host ? `${proto}://${host}${path}` : path;
}

function firstValue(header: string): string {
  return header.split(',')[0]!.trim();
}

/** `/v2/<name>/…` with the name's components URL-safe (they are by grammar; encode anyway). */
export function repositoryPath(name: string, suffix: string): string {
  return `/v2/${name.split('/').map(encodeURIComponent).join('/')}/${suffix}`;
}

// `Location` headers: relative when configured (REGISTRY_HTTP_RELATIVEURLS), otherwise absolute,
// from `http.host` or from the external scheme and host the gateway forwards.
import type { Context } from 'koa';
import { EXTERNAL_HOST_HEADER, EXTERNAL_PROTO_HEADER } from '../../common/internal-headers.js';
import type { StorageOptions } from './context.js';

export function location(ctx: Context, options: StorageOptions, path: string): string {
  if (options.relativeUrls) return path;
  if (options.externalBaseUrl) return `${options.externalBaseUrl.replace(/\/+$/, '')}${path}`;
  const proto = firstValue(ctx.get(EXTERNAL_PROTO_HEADER)) || 'http';
  // Behind the gateway the forwarded host is the client's, even an absent one (HTTP/1.0 may omit
  // Host): storage's own Host is then its internal address, which no client may be sent to.
  const forwarded = ctx.headers[EXTERNAL_HOST_HEADER];
  const host = forwarded !== undefined ? firstValue(String(forwarded)) : ctx.get('host');
  return host ? `${proto}://${host}${path}` : path;
}

function firstValue(header: string): string {
  return header.split(',')[0]!.trim();
}

/** `/v2/<name>/…` with the name's components URL-safe (they are by grammar; encode anyway). */
export function repositoryPath(name: string, suffix: string): string {
  return `/v2/${name.split('/').map(encodeURIComponent).join('/')}/${suffix}`;
}

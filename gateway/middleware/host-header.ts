// Refuses a request whose Host is not a plain `host[:port]` (RFC 9110 §7.2, RFC 3986 authority
// without user info) with 400 and an OCI error body, before anything reads it. Storage builds the
// `Location`s it answers with from this Host (through the gateway's x-forwarded-host), so user
// info (`user@host`), a path, a bad port or an oversized value would otherwise come back to the
// client, or to a cache in between, inside a URL.
import { isIPv6 } from 'node:net';
import { respondWithError } from '../oci-response.js';
import type { GatewayMiddleware } from '../state.js';

/** A DNS name is at most 253 characters; with `:65535` that is 259. */
export const MAX_HOST_LENGTH = 259;

const NAME_WITH_PORT = /^([A-Za-z0-9._~-]+|\[([0-9A-Fa-f:.]+)\])(?::([0-9]{1,5}))?$/;

/** Whether a Host header value is `name[:port]`, `a.b.c.d[:port]` or `[ipv6][:port]`. */
export function isValidHost(value: string): boolean {
  if (value.length === 0 || value.length > MAX_HOST_LENGTH) return false;
  const match = NAME_WITH_PORT.exec(value);
  if (!match) return false;
  const [, , ipv6, port] = match;
  if (ipv6 !== undefined && !isIPv6(ipv6)) return false;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  return true;
}

export function hostHeader(): GatewayMiddleware {
  return async (ctx, next) => {
    // Node itself answers 400 to an HTTP/1.1 request without Host; HTTP/1.0 may omit it.
    const host = ctx.req.headers.host;
    if (host !== undefined && !isValidHost(host)) {
      // Keep-alive would let the client go on after a request we could not make sense of.
      ctx.set('Connection', 'close');
      respondWithError(ctx, 'UNSUPPORTED', { status: 400, message: 'invalid Host header' });
      return;
    }
    await next();
  };
}

// When storage listens on a network, only the gateway (which knows the shared token) may talk
// to it. The comparison is constant-time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { RegistryError } from '../../common/errors.js';
import { INTERNAL_TOKEN_HEADER } from '../../common/internal-headers.js';

export function requireInternalToken(token: string) {
  const expected = digest(token);
  return async function checkInternalToken(ctx: Context, next: Next): Promise<void> {
    const given = ctx.get(INTERNAL_TOKEN_HEADER);
    if (!given || !timingSafeEqual(digest(given), expected)) {
      throw new RegistryError('DENIED', 'storage is only reachable through the gateway');
    }
    await next();
  };
}

// Hashing first gives equal-length buffers whatever the lengths of the inputs.
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

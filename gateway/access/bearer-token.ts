// Short-lived Bearer tokens the gateway issues itself (docker's token authentication flow), so
// that docker can pull anonymously AND, after `docker login`, send credentials to the same
// registry: docker sends nothing without credentials to a registry whose /v2/ challenge is
// Basic, and never sends credentials to one whose /v2/ answers 200. A token only says who
// logged in (or that nobody did) until when; what they may do is decided by the policy on each
// request. Signed with HMAC-SHA256 under http.secret (shared by replicas) or a per-process key.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_LIFETIME_SECONDS = 300;
const PREFIX = 'rt1';

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

/** A verified token: `user` undefined for an anonymous one. */
export interface TokenIdentity {
  user?: string;
}

export class BearerTokens {
  readonly #key: Buffer;

  constructor(secret?: string) {
    this.#key = secret !== undefined ? Buffer.from(`registry bearer tokens\0${secret}`, 'utf8') : randomBytes(32);
  }

  issue(user: string | undefined, now = Date.now()): IssuedToken {
    const exp = Math.floor(now / 1000) + TOKEN_LIFETIME_SECONDS;
    const payload = Buffer.from(JSON.stringify(user === undefined ? { exp } : { sub: user, exp }), 'utf8').toString('base64url');
    return { token: `${PREFIX}.${payload}.${this.#sign(payload)}`, expiresIn: TOKEN_LIFETIME_SECONDS, issuedAt: new Date(now).toISOString() };
  }

  /** The identity in a valid, unexpired token of ours; undefined otherwise. */
  verify(token: string, now = Date.now()): TokenIdentity | undefined {
    const [prefix, payload, signature, extra] = token.split('.');
    if (prefix !== PREFIX || payload === undefined || signature === undefined || extra !== undefined) return undefined;
    const expected = Buffer.from(this.#sign(payload), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: { sub?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return undefined;
    return typeof claims.sub === 'string' ? { user: claims.sub } : {};
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}

// The web UI's login session: a cookie the gateway signs itself (HMAC-SHA256 under http.secret, or
// a per-process key), HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
// it), Secure on HTTPS, with a fixed lifetime (not renewed by use). It names the user, when it
// ends, a random id, and the user's account stamp (the authenticator's: a changed password or a
// user removed from the htpasswd file ends every session of that user at once). A logout is kept
// by storage (SharedLogouts), so it holds on every replica and after a restart; each gateway asks
// about a session at most every 2 s.
//
// State changes need more than the cookie: the anti-CSRF token, an HMAC of the session id under
// another key, which the UI reads from its own session API (same origin only) and sends in the
// `X-Registry-CSRF` header. A page of another origin can neither read the token nor send that
// header without a CORS preflight the gateway does not allow for it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export const SESSION_COOKIE = 'registry_session';
export const CSRF_HEADER = 'x-registry-csrf';
/** A session lasts this long after login, whatever it does meanwhile. */
export const SESSION_LIFETIME_SECONDS = 8 * 3600;
const PREFIX = 's1';
/** Longest cookie value accepted: a user name is at most 255 bytes. */
const MAX_COOKIE_LENGTH = 1024;

export interface Session {
  user: string;
  /** Random id: what the CSRF token and a logout are bound to. */
  id: string;
  /** Seconds since the epoch when the session ends. */
  expiresAt: number;
}

/** Logouts every gateway replica sees, and that outlive a restart (kept by storage). */
export interface SharedLogouts {
  record(id: string, expiresAt: number): Promise<void>;
  has(id: string): Promise<boolean>;
}

/** How long a "not logged out" answer of the shared list is trusted: a logout elsewhere takes effect here within this. */
const SHARED_CHECK_MS = 2000;

export interface SessionsOptions {
  /** http.secret: every gateway replica must share it, or a session works on one replica only. */
  secret?: string;
  lifetimeSeconds?: number;
  /** The authenticator's account stamp of a user; undefined when the user is gone. */
  accountStamp: (user: string) => string | undefined;
  now?: () => number;
  /** Without it, a logout holds in this process only. */
  shared?: SharedLogouts;
}

export class Sessions {
  readonly lifetimeSeconds: number;
  readonly #cookieKey: Buffer;
  readonly #csrfKey: Buffer;
  readonly #stamp: (user: string) => string | undefined;
  readonly #now: () => number;
  /** Sessions logged out on this gateway, until they would have expired anyway. */
  readonly #loggedOut = new LRUCache<string, true>({ max: 100_000, ttl: 1, ttlAutopurge: false });
  readonly #shared: SharedLogouts | undefined;
  /** The shared list's recent answers (the question itself while it is asked): one request per session per 2 s. */
  readonly #sharedAnswers = new LRUCache<string, Promise<boolean>>({ max: 10_000, ttl: SHARED_CHECK_MS });

  constructor(options: SessionsOptions) {
    const root = options.secret !== undefined ? Buffer.from(options.secret, 'utf8') : randomBytes(32);
    this.#cookieKey = createHmac('sha256', root).update('registry ui session cookie').digest();
    this.#csrfKey = createHmac('sha256', root).update('registry ui csrf token').digest();
    this.lifetimeSeconds = options.lifetimeSeconds ?? SESSION_LIFETIME_SECONDS;
    this.#stamp = options.accountStamp;
    this.#now = options.now ?? Date.now;
    this.#shared = options.shared;
  }

  /** A new session for a user who just proved their password: the cookie value and the session. */
  issue(user: string): { value: string; session: Session } {
    const id = randomBytes(16).toString('base64url');
    const expiresAt = Math.floor(this.#now() / 1000) + this.lifetimeSeconds;
    const stamp = this.#stamp(user) ?? '';
    const payload = Buffer.from(JSON.stringify({ u: user, i: id, e: expiresAt, s: stamp }), 'utf8').toString('base64url');
    return { value: `${PREFIX}.${payload}.${this.#sign(payload)}`, session: { user, id, expiresAt } };
  }

  /**
   * The session a cookie value holds, when it is ours, unexpired, not logged out, and its user's
   * account unchanged. When the shared list of logouts cannot be read, no session is valid.
   */
  async verify(value: string | undefined): Promise<Session | undefined> {
    if (value === undefined || value.length > MAX_COOKIE_LENGTH) return undefined;
    const [prefix, payload, signature, extra] = value.split('.');
    if (prefix !== PREFIX || payload === undefined || signature === undefined || extra !== undefined) return undefined;
    if (!sameText(signature, this.#sign(payload))) return undefined;
    let claims: { u?: unknown; i?: unknown; e?: unknown; s?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return undefined;
    }
    const { u: user, i: id, e: expiresAt, s: stamp } = claims;
    if (typeof user !== 'string' || typeof id !== 'string' || typeof expiresAt !== 'number' || typeof stamp !== 'string') return undefined;
    if (expiresAt * 1000 <= this.#now()) return undefined;
    const current = this.#stamp(user);
    if (current === undefined || !sameText(current, stamp)) return undefined;
    if (await this.#isLoggedOut(id)) return undefined;
    return { user, id, expiresAt };
  }

  /**
   * Ends a session: here at once, and on every replica through the shared list (rejects when
   * storage could not record it; the session is then ended on this gateway only).
   */
  async revoke(session: Session): Promise<void> {
    const remainingMs = session.expiresAt * 1000 - this.#now();
    if (remainingMs <= 0) return;
    this.#loggedOut.set(session.id, true, { ttl: remainingMs });
    await this.#shared?.record(session.id, session.expiresAt);
  }

  async #isLoggedOut(id: string): Promise<boolean> {
    if (this.#loggedOut.has(id)) return true;
    if (!this.#shared) return false;
    let answer = this.#sharedAnswers.get(id);
    if (answer === undefined) {
      answer = this.#shared.has(id).catch(() => {
        this.#sharedAnswers.delete(id); // ask again next time
        return true; // unknown: not valid
      });
      this.#sharedAnswers.set(id, answer);
    }
    return answer;
  }

  csrfToken(session: Session): string {
    return createHmac('sha256', this.#csrfKey).update(session.id).digest('base64url');
  }

  checkCsrf(session: Session, token: string | undefined): boolean {
    return token !== undefined && token !== '' && sameText(token, this.csrfToken(session));
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#cookieKey).update(payload).digest('base64url');
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of one cookie in a Cookie header (the first one of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value that stores a session (or, with an empty value and max-age 0, clears it). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

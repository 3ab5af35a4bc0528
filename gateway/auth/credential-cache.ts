// Remembers recently verified credentials so that a push (10-15 requests, all with the same Basic
// auth header) costs one bcrypt verification instead of one per request.
//
// Keys are an HMAC under a random per-process key: the cache never holds a password, nor anything
// an attacker who reads the process memory could test guesses against offline once the process
// (and its key) is gone. Only successes are cached; entries expire after a fixed time (not renewed
// by use), the cache is bounded, and the owner clears it whenever the htpasswd file changes.
// A hit skips the hash check only: the login throttle is still asked first (LoginThrottle's
// admitVerified), so the cache never answers a guess from an address that is guessing at that user.
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface CredentialCacheOptions {
  /** Most credentials remembered at once (default 10 000). */
  maxEntries?: number;
  /** How long a verified credential is trusted without checking the hash again (default 5 min). */
  ttlMs?: number;
  /** The clock, in milliseconds (default performance.now); tests pass one they control. */
  now?: () => number;
}

export class CredentialCache {
  readonly #hmacKey = randomBytes(32);
  readonly #verified: LRUCache<string, true>;

  constructor({ maxEntries = 10_000, ttlMs = 5 * 60_000, now }: CredentialCacheOptions = {}) {
    // An injected clock is read on every check (lru-cache otherwise reuses a reading for 1 ms).
    const clock = now ? { perf: { now }, ttlResolution: 0 } : {};
    this.#verified = new LRUCache<string, true>({ max: maxEntries, ttl: ttlMs, updateAgeOnGet: false, ...clock });
  }

  /**
   * The cache key of a user and password. The user is length-prefixed so that no pair of
   * different credentials can produce the same input ("a\0b" + "c" vs "a" + "b\0c").
   */
  keyOf(user: string, password: string): string {
    return createHmac('sha256', this.#hmacKey)
      .update(`${Buffer.byteLength(user, 'utf8')}:${user}\0${password}`, 'utf8')
      .digest('base64');
  }

  isVerified(key: string): boolean {
    return this.#verified.has(key);
  }

  rememberVerified(key: string): void {
    this.#verified.set(key, true);
  }

  clear(): void {
    this.#verified.clear();
  }

  get size(): number {
    return this.#verified.size;
  }
}

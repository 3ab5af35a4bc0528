// Failed-login throttling, decided BEFORE a password hash is checked, so that a throttled guess
// costs no CPU.
//
// Two sliding windows of failure timestamps:
// - per client address (an IPv4 address or an IPv6 /64): after `maxFailuresPerAddress` failures
//   within `windowMs`, every attempt from that address is throttled until the oldest counted
//   failure leaves the window. A success from the address clears its failures.
// - per user name: after `maxFailuresPerUser` failures for one user within `windowMs` (from any
//   addresses, e.g. a distributed guesser), attempts for that user are throttled, but ONLY from
//   addresses that have failed at least once themselves within the window. The legitimate user,
//   typing the right password from a clean address, is never locked out by someone guessing on
//   their name; a distributed attacker gets one guess per address per window instead of
//   `maxFailuresPerAddress`. A success does not clear the user's counter (it would reset the
//   attacker's progress too).
// Cached successful credentials do NOT bypass the throttle: a cache lookup answers at network
// speed, so it would let a throttled client test guesses against a logged-in user's password
// without limit.
//
// Attempts still being verified count against their address as if they had failed (distinct
// credentials only, so the identical parallel requests of one push count once): otherwise a client
// could send hundreds of guesses in parallel before the first failure is recorded.
//
// Both maps are bounded LRUs; a record holds at most `max…` timestamps.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { throttleBucketOf } from './address-bucket.js';

export interface LoginThrottleOptions {
  /** Length of the sliding window (default 60 000 ms). */
  windowMs?: number;
  /** Failures from one address within the window before it is throttled (default 10). */
  maxFailuresPerAddress?: number;
  /** Failures for one user within the window before suspicious addresses are throttled (default 10). */
  maxFailuresPerUser?: number;
  /** Addresses and users tracked at once, each (default 10 000); the least recently seen are forgotten. */
  maxTrackedKeys?: number;
  /** The clock, in milliseconds (default Date.now); tests pass one they control. */
  now?: () => number;
}

export type LoginAdmission =
  | {
      throttled: false;
      /** Reports the outcome; returns true when this failure is the one that throttles the address. */
      settle(outcome: 'success' | 'failure' | 'abandoned'): boolean;
    }
  | { throttled: true; scope: 'address' | 'user'; retryAfterSeconds: number };

interface AddressRecord {
  failures: number[];
  /** Attempt keys being verified right now, with how many callers share each. */
  pending: Map<string, number>;
}

export class LoginThrottle {
  readonly #windowMs: number;
  readonly #maxPerAddress: number;
  readonly #maxPerUser: number;
  readonly #addresses: LRUCache<string, AddressRecord>;
  readonly #users: LRUCache<string, number[]>;
  readonly #now: () => number;

  constructor(options: LoginThrottleOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#windowMs = positive('windowMs', options.windowMs ?? 60_000);
    this.#maxPerAddress = positive('maxFailuresPerAddress', options.maxFailuresPerAddress ?? 10);
    this.#maxPerUser = positive('maxFailuresPerUser', options.maxFailuresPerUser ?? 10);
    const max = positive('maxTrackedKeys', options.maxTrackedKeys ?? 10_000);
    this.#addresses = new LRUCache({ max });
    this.#users = new LRUCache({ max });
  }

  /**
   * Asks whether an attempt may be verified. `attemptKey` identifies the credentials (not the
   * password itself); attempts with the same key in flight at once count as one.
   */
  admit(clientAddress: string, user: string, attemptKey: string): LoginAdmission {
    const now = this.#now();
    const address = this.#addressRecord(throttleBucketOf(clientAddress), now);
    const userKey = createHash('sha256').update(user, 'utf8').digest('base64');
    const userFailures = this.#recent(this.#users.get(userKey) ?? [], now);

    const otherPending = address.pending.size - (address.pending.has(attemptKey) ? 1 : 0);
    const counted = address.failures.length + otherPending;
    if (counted >= this.#maxPerAddress) {
      // The limit is lifted when enough recorded failures leave the window; pending ones resolve soon.
      const releasing = address.failures[counted - this.#maxPerAddress];
      return { throttled: true, scope: 'address', retryAfterSeconds: this.#secondsUntilExpiry(releasing, now) };
    }
    if (userFailures.length >= this.#maxPerUser && address.failures.length > 0) {
      const userRelease = userFailures[userFailures.length - this.#maxPerUser];
      const addressRelease = address.failures[address.failures.length - 1];
      return {
        throttled: true,
        scope: 'user',
        retryAfterSeconds: Math.min(this.#secondsUntilExpiry(userRelease, now), this.#secondsUntilExpiry(addressRelease, now)),
      };
    }

    address.pending.set(attemptKey, (address.pending.get(attemptKey) ?? 0) + 1);
    let settled = false;
    return {
      throttled: false,
      settle: (outcome) => {
        if (settled) return false;
        settled = true;
        const sharing = (address.pending.get(attemptKey) ?? 1) - 1;
        if (sharing > 0) address.pending.set(attemptKey, sharing);
        else address.pending.delete(attemptKey);
        if (outcome === 'success') address.failures = [];
        if (outcome !== 'failure') return false;

        const at = this.#now();
        const before = this.#recent(address.failures, at);
        address.failures = this.#appendBounded(before, at, this.#maxPerAddress);
        this.#users.set(userKey, this.#appendBounded(this.#recent(this.#users.get(userKey) ?? [], at), at, this.#maxPerUser));
        return before.length < this.#maxPerAddress && address.failures.length === this.#maxPerAddress;
      },
    };
  }

  #addressRecord(key: string, now: number): AddressRecord {
    let record = this.#addresses.get(key);
    if (!record) {
      record = { failures: [], pending: new Map() };
      this.#addresses.set(key, record);
    }
    record.failures = this.#recent(record.failures, now);
    return record;
  }

  #recent(timestamps: number[], now: number): number[] {
    const cutoff = now - this.#windowMs;
    const firstRecent = timestamps.findIndex((at) => at > cutoff);
    return firstRecent < 0 ? [] : firstRecent === 0 ? timestamps : timestamps.slice(firstRecent);
  }

  #appendBounded(timestamps: number[], at: number, limit: number): number[] {
    const next = [...timestamps, at];
    return next.length > limit ? next.slice(next.length - limit) : next;
  }

  /** Whole seconds (at least 1) until a failure recorded at `at` leaves the window. */
  #secondsUntilExpiry(at: number | undefined, now: number): number {
    if (at === undefined) return 1;
    return Math.max(1, Math.ceil((at + this.#windowMs - now) / 1000));
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`login throttle: ${name} must be at least 1, got ${value}`);
  return value;
}

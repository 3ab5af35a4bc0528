// Failed-login throttling, decided BEFORE a password hash is checked, so that a throttled guess
// costs no CPU.
//
// Two sliding windows of failure timestamps:
// - per client address (an IPv4 address or an IPv6 /64): after `maxFailuresPerAddress` failures
//   within `windowMs`, every attempt from that address is throttled until the oldest counted
//   failure leaves the window. A success from the address clears its failures for that user only
//   (a legitimate login on a shared address must not reset a guesser's count on other names).
// - per user name: after `maxFailuresPerUser` failures for one user within `windowMs` (from any
//   addresses, e.g. a distributed guesser), attempts for that user are throttled, but ONLY from
//   addresses that have failed at least once themselves within the window. The legitimate user,
//   typing the right password from a clean address, is never locked out by someone guessing on
//   their name; a distributed attacker gets one guess per address per window instead of
//   `maxFailuresPerAddress`. A success does not clear the user's counter (it would reset the
//   attacker's progress too).
//
// Recently verified credentials (the credential cache) skip the hash check, and skip a throttle
// only for a user that the address is not guessing at. Each address remembers, for the window,
// the users it failed or was refused for; for those users, a cached password is throttled like any
// other attempt. The cache answers at network speed, so letting it through the throttle of an
// address that guesses at that user would make it an oracle: issue 7 saw 19,999 × 429 and one 200
// (the right password) in 9 s from a throttled address while the user had a session.
// Why not throttle cached passwords from a guessing address outright: a shared address (NAT, one
// CI host) with one guesser would lock every user behind it out. With this rule the others keep
// working; a guesser gets at most one test per user per window against a session (its first
// attempt on that name), as a distributed guesser gets one per address from the user throttle.
// The price: a user whose own name is being guessed from their own address is throttled with the
// guesser, session or not (the right password is all that tells them apart).
// Past `MAX_GUESSED_USERS` names in a window, an address counts as guessing at every user.
//
// Attempts still being verified count against their address as if they had failed (distinct
// credentials only, so the identical parallel requests of one push count once): otherwise a client
// could send hundreds of guesses in parallel before the first failure is recorded.
//
// Both maps are bounded LRUs; a record holds at most `max…` timestamps and `MAX_GUESSED_USERS` names.
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

/** Users one address may guess at within a window before it counts as guessing at everyone. */
export const MAX_GUESSED_USERS = 32;

type Throttled = { throttled: true; scope: 'address' | 'user'; retryAfterSeconds: number };

interface Failure {
  at: number;
  /** Hash of the user name (see #userKey). */
  user: string;
}

interface AddressRecord {
  failures: Failure[];
  /** Attempt keys being verified right now, with how many callers share each. */
  pending: Map<string, number>;
  /** Users this address recently failed or was refused for → when it last was. */
  guessed: Map<string, number>;
  /** Until then the address counts as guessing at every user (it tried too many names). */
  guessingEveryoneUntil: number;
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
    const userKey = this.#userKey(user);
    const otherPending = address.pending.size - (address.pending.has(attemptKey) ? 1 : 0);
    const refused = this.#refusal(address, userKey, otherPending, now);
    if (refused) {
      this.#markGuessed(address, userKey, now);
      return refused;
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
        if (outcome === 'success') {
          address.failures = address.failures.filter((failure) => failure.user !== userKey);
          address.guessed.delete(userKey);
        }
        if (outcome !== 'failure') return false;

        const at = this.#now();
        const before = this.#recent(address.failures, at);
        address.failures = appendBounded(before, { at, user: userKey }, this.#maxPerAddress);
        this.#markGuessed(address, userKey, at);
        const userFailures = this.#users.get(userKey) ?? [];
        this.#users.set(userKey, appendBounded(this.#recentTimes(userFailures, at), at, this.#maxPerUser));
        return before.length < this.#maxPerAddress && address.failures.length === this.#maxPerAddress;
      },
    };
  }

  /**
   * Asks whether credentials the cache verified recently may pass. They skip the throttles unless
   * the address is guessing at this user; then they are throttled like any attempt (see the top).
   */
  admitVerified(clientAddress: string, user: string): { throttled: false } | Throttled {
    const now = this.#now();
    const address = this.#addressRecord(throttleBucketOf(clientAddress), now);
    const userKey = this.#userKey(user);
    const guessing = address.guessingEveryoneUntil > now || address.guessed.has(userKey);
    if (!guessing) return { throttled: false };
    const refused = this.#refusal(address, userKey, address.pending.size, now);
    if (!refused) return { throttled: false };
    this.#markGuessed(address, userKey, now);
    return refused;
  }

  #refusal(address: AddressRecord, userKey: string, pending: number, now: number): Throttled | undefined {
    const counted = address.failures.length + pending;
    if (counted >= this.#maxPerAddress) {
      // The limit is lifted when enough recorded failures leave the window; pending ones resolve soon.
      const releasing = address.failures[counted - this.#maxPerAddress]?.at;
      return { throttled: true, scope: 'address', retryAfterSeconds: this.#secondsUntilExpiry(releasing, now) };
    }
    const userFailures = this.#recentTimes(this.#users.get(userKey) ?? [], now);
    if (userFailures.length >= this.#maxPerUser && address.failures.length > 0) {
      const userRelease = userFailures[userFailures.length - this.#maxPerUser];
      const addressRelease = address.failures[address.failures.length - 1]?.at;
      return {
        throttled: true,
        scope: 'user',
        retryAfterSeconds: Math.min(this.#secondsUntilExpiry(userRelease, now), this.#secondsUntilExpiry(addressRelease, now)),
      };
    }
    return undefined;
  }

  #markGuessed(address: AddressRecord, userKey: string, now: number): void {
    if (address.guessed.has(userKey) || address.guessed.size < MAX_GUESSED_USERS) {
      address.guessed.delete(userKey); // re-insert: the map stays in order of last attempt
      address.guessed.set(userKey, now);
    } else {
      address.guessingEveryoneUntil = now + this.#windowMs;
    }
  }

  #userKey(user: string): string {
    return createHash('sha256').update(user, 'utf8').digest('base64');
  }

  #addressRecord(key: string, now: number): AddressRecord {
    let record = this.#addresses.get(key);
    if (!record) {
      record = { failures: [], pending: new Map(), guessed: new Map(), guessingEveryoneUntil: 0 };
      this.#addresses.set(key, record);
    }
    record.failures = this.#recent(record.failures, now);
    const cutoff = now - this.#windowMs;
    for (const [user, at] of record.guessed) {
      if (at > cutoff) break; // in order of last attempt: the rest are newer
      record.guessed.delete(user);
    }
    return record;
  }

  #recent(failures: Failure[], now: number): Failure[] {
    const cutoff = now - this.#windowMs;
    const firstRecent = failures.findIndex((failure) => failure.at > cutoff);
    return firstRecent < 0 ? [] : firstRecent === 0 ? failures : failures.slice(firstRecent);
  }

  #recentTimes(timestamps: number[], now: number): number[] {
    const cutoff = now - this.#windowMs;
    const firstRecent = timestamps.findIndex((at) => at > cutoff);
    return firstRecent < 0 ? [] : firstRecent === 0 ? timestamps : timestamps.slice(firstRecent);
  }

  /** Whole seconds (at least 1) until a failure recorded at `at` leaves the window. */
  #secondsUntilExpiry(at: number | undefined, now: number): number {
    if (at === undefined) return 1;
    return Math.max(1, Math.ceil((at + this.#windowMs - now) / 1000));
  }
}

function appendBounded<T>(items: T[], item: T, limit: number): T[] {
  const next = [...items, item];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`login throttle: ${name} must be at least 1, got ${value}`);
  return value;
}

// The gateway's Authenticator over an htpasswd file: follows the file, verifies passwords in every
// htpasswd format, caches successes, shares identical verifications in flight, throttles guessing,
// and makes an unknown user cost as much as a wrong password.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import type { AuthResult, Authenticator } from './authenticator.js';
import { CredentialCache, type CredentialCacheOptions } from './credential-cache.js';
import { parseHtpasswd, type HtpasswdEntry } from './htpasswd-file.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { hashLike, hashPassword, hashWorkFactor, verifyPassword, type HashFormat } from './password-hash.js';
import { SingleFlight } from './single-flight.js';
import { WatchedFile } from './watched-file.js';

export interface HtpasswdAuthenticatorOptions {
  path: string;
  /** Refuse {SHA}, crypt and plaintext lines instead of accepting them with a warning. */
  refuseInsecure?: boolean;
  logger: Logger;
  /** How often the file is checked for changes (default 1000 ms). */
  reloadIntervalMs?: number;
  throttle?: LoginThrottleOptions;
  cache?: CredentialCacheOptions;
}

export interface HtpasswdAuthStats {
  /** Password hashes checked (bcrypt or other), including against the dummy hash for unknown users. */
  hashVerifications: number;
  /** Successes answered from the credential cache. */
  cacheHits: number;
  /** Attempts refused by the throttle without checking anything. */
  throttled: number;
  /** Times the file's content changed and the user map was replaced. */
  reloads: number;
}

export interface HtpasswdAuthenticator extends Authenticator {
  /** Users that can currently log in. */
  userCount(): number;
  stats(): HtpasswdAuthStats;
}

interface StoredHash {
  hash: string;
  format: HashFormat;
}

interface UserMap {
  users: Map<string, HtpasswdEntry>;
  /** Bumped on every reload: results of verifications started before it are not cached. */
  generation: number;
}

/**
 * A hash of a random password with the work factor most users in the file have, so that checking
 * an unknown user takes as long as checking a typical user's wrong password.
 */
async function dummyHashFor(users: Map<string, HtpasswdEntry>): Promise<StoredHash> {
  const password = randomBytes(24).toString('base64');
  const counts = new Map<string, { count: number; example: HtpasswdEntry }>();
  for (const entry of users.values()) {
    const workFactor = hashWorkFactor(entry.hash, entry.format);
    const seen = counts.get(workFactor);
    if (seen) seen.count++;
    else counts.set(workFactor, { count: 1, example: entry });
  }
  let typical: HtpasswdEntry | undefined;
  let typicalCount = 0;
  for (const { count, example } of counts.values()) {
    if (count > typicalCount) {
      typical = example;
      typicalCount = count;
    }
  }
  if (!typical) return { hash: await hashPassword(password, 'bcrypt', 10), format: 'bcrypt' };
  return { hash: await hashLike(password, typical.hash, typical.format), format: typical.format };
}

export async function createHtpasswdAuthenticator(options: HtpasswdAuthenticatorOptions): Promise<HtpasswdAuthenticator> {
  const { path, logger } = options;
  const refuseInsecure = options.refuseInsecure ?? false;
  const cache = new CredentialCache(options.cache);
  const throttle = new LoginThrottle(options.throttle);
  const verifications = new SingleFlight<boolean>();
  const stats: HtpasswdAuthStats = { hashVerifications: 0, cacheHits: 0, throttled: 0, reloads: 0 };

  function load(text: string, generation: number): UserMap {
    const { entries, problems } = parseHtpasswd(text, { refuseInsecure });
    // Messages carry line numbers and user names, never a hash or a line's content.
    for (const problem of problems) {
      const fields = { path, line: problem.line };
      if (problem.severity === 'error') logger.error(fields, `htpasswd: ${problem.message}`);
      else logger.warn(fields, `htpasswd: ${problem.message}`);
    }
    if (entries.size === 0) logger.warn({ path }, 'htpasswd: the file has no usable user: every login will fail');
    return { users: entries, generation };
  }

  let watched: WatchedFile;
  let current: UserMap;
  let dummy: StoredHash | undefined;

  function refreshDummyHash(forMap: UserMap): void {
    dummyHashFor(forMap.users).then(
      (next) => {
        if (current === forMap) dummy = next;
      },
      (error: unknown) => logger.error({ err: error, path }, 'htpasswd: could not compute the hash unknown users are checked against'),
    );
  }

  try {
    watched = await WatchedFile.open(path, {
      intervalMs: options.reloadIntervalMs ?? 1000,
      onChange: (text) => {
        // Replace, never merge: a user removed from the file loses access with this reload.
        const previous = current;
        current = load(text, previous.generation + 1);
        cache.clear();
        stats.reloads++;
        logger.info({ path, users: current.users.size }, 'htpasswd: file changed, users reloaded');
        refreshDummyHash(current);
      },
      onUnavailable: (error) =>
        logger.error(
          { path, code: (error as NodeJS.ErrnoException).code },
          'htpasswd: the file cannot be read any more; keeping the users last loaded from it',
        ),
      onAvailableAgain: () => logger.info({ path }, 'htpasswd: the file can be read again'),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`htpasswd file not found: ${path}`, { cause: error });
    throw new Error(`cannot read htpasswd file ${path}: ${(error as Error).message}`, { cause: error });
  }
  current = load(watched.text, 0);
  const initial = current;
  try {
    const initialDummy = await dummyHashFor(initial.users);
    // A reload during the wait may already have installed the dummy hash for the newer map.
    if (current === initial || dummy === undefined) dummy = initialDummy;
  } catch (error) {
    await watched.close();
    throw error;
  }
  logger.info({ path, users: current.users.size }, 'htpasswd: users loaded');

  async function verify(user: string, password: string, map: UserMap): Promise<boolean> {
    const entry = map.users.get(user);
    stats.hashVerifications++;
    if (!entry) {
      if (dummy) await verifyPassword(password, dummy.hash, dummy.format);
      return false;
    }
    return verifyPassword(password, entry.hash, entry.format);
  }

  return {
    async authenticate(user: string, password: string, clientAddress: string): Promise<AuthResult> {
      await watched.refreshIfStale();
      const key = cache.keyOf(user, password);
      // The throttle comes first, for cached credentials too (see login-throttle.ts for the rule
      // and why): a verified password skips the hash check, never the throttle of an address that
      // is guessing at this user, or a throttled address could test guesses against the cache at
      // request speed. It skips the throttle of an address guessing at other users, so people
      // with a session behind a shared address (NAT, one CI host) keep working.
      if (cache.isVerified(key)) {
        const passage = throttle.admitVerified(clientAddress, user);
        if (passage.throttled) {
          stats.throttled++;
          logger.debug({ clientAddress, scope: passage.scope }, 'htpasswd: login attempt throttled');
          return { ok: false, reason: 'throttled', retryAfterSeconds: passage.retryAfterSeconds };
        }
        stats.cacheHits++;
        return { ok: true, user };
      }
      const admission = throttle.admit(clientAddress, user, key);
      if (admission.throttled) {
        stats.throttled++;
        logger.debug({ clientAddress, scope: admission.scope }, 'htpasswd: login attempt throttled');
        return { ok: false, reason: 'throttled', retryAfterSeconds: admission.retryAfterSeconds };
      }

      const map = current;
      let ok: boolean;
      try {
        ok = await verifications.run(`${map.generation}:${key}`, () => verify(user, password, map));
      } catch (error) {
        admission.settle('abandoned');
        throw error;
      }
      if (ok) {
        if (map === current) cache.rememberVerified(key);
        admission.settle('success');
        return { ok: true, user };
      }
      const addressNowThrottled = admission.settle('failure');
      // An unknown "user" is often a password typed into the wrong field: only known names are logged.
      const known = map.users.has(user);
      logger.info({ clientAddress, ...(known ? { user } : { knownUser: false }) }, 'htpasswd: failed login');
      if (addressNowThrottled) logger.warn({ clientAddress }, 'htpasswd: too many failed logins, address throttled');
      return { ok: false, reason: 'invalid' };
    },

    userCount: () => current.users.size,

    stats: () => ({ ...stats }),

    async close(): Promise<void> {
      await watched.close();
    },
  };
}

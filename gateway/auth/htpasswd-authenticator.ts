// The gateway's Authenticator over an htpasswd file: follows the file, verifies passwords in every
// htpasswd format, caches successes, shares identical verifications in flight, throttles guessing,
// and makes an unknown user cost as much as a wrong password.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import type { AuthResult, Authenticator } from './authenticator.js';
import { CredentialCache, type CredentialCacheOptions } from './credential-cache.js';
import { parseHtpasswd, type HtpasswdEntry } from './htpasswd-file.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { hashLike, hashPassword, hashWorkFactor, verifyPassword, type HashFormat } from './password-hash.js';
import { SingleFlight } from './single-flight.js';
import { gatewayMetrics } from '../metrics.js';
import { logAvailability, WatchedFile } from './watched-file.js';

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
  /** Key that picks an unknown name's dummy hash: a hash of the file's content (see dummyFor). */
  dummyKey: Buffer;
}

/**
 * What an unknown user is checked against: a dummy hash for each work factor in use (bcrypt cost,
 * SHA-crypt rounds, format), weighted by how many users have it.
 */
interface DummyHashes {
  classes: Array<{ users: number; hash: StoredHash }>;
  users: number;
  /** Picks the class for a name; derived from the file's content (see dummyFor). */
  key: Buffer;
}

/**
 * Hashes of a random password, one per work factor the file's users have. With mixed costs
 * (`htpasswd -B` is 5, `registry user add` 10), one dummy hash at any single cost gives unknown
 * names a time that some real users do not have, and timing tells those users apart.
 */
async function dummyHashesFor({ users, dummyKey }: UserMap): Promise<DummyHashes> {
  const password = randomBytes(24).toString('base64');
  const byFactor = new Map<string, { users: number; example: HtpasswdEntry }>();
  for (const entry of users.values()) {
    const workFactor = hashWorkFactor(entry.hash, entry.format);
    const seen = byFactor.get(workFactor);
    if (seen) seen.users++;
    else byFactor.set(workFactor, { users: 1, example: entry });
  }
  const classes: DummyHashes['classes'] = [];
  for (const { users: count, example } of byFactor.values()) {
    classes.push({ users: count, hash: { hash: await hashLike(password, example.hash, example.format), format: example.format } });
  }
  if (classes.length === 0) classes.push({ users: 1, hash: { hash: await hashPassword(password, 'bcrypt', 10), format: 'bcrypt' } });
  return { classes, users: classes.reduce((sum, c) => sum + c.users, 0), key: dummyKey };
}

/**
 * The dummy hash an unknown name is checked against. Each name gets one work factor, for good,
 * picked in proportion to the users that have it: an unknown name then behaves like a real user
 * (the same time on every try, at a cost real users have, as often as they have it), so timing
 * does not tell whether a name exists. Random per attempt would not do: the time of a real user
 * does not vary, so a name whose time does is unknown. The pick is an HMAC under a key derived
 * from the file's content, which an attacker cannot read, and which every gateway replica and
 * restart shares: a name does not change cost between them, as a per-process key would make it.
 * It changes when the file does, as the costs of real users can.
 */
function dummyFor(dummies: DummyHashes, user: string): StoredHash {
  const digest = createHmac('sha256', dummies.key).update(user, 'utf8').digest();
  let pick = digest.readUIntBE(0, 6) % dummies.users;
  for (const { users, hash } of dummies.classes) {
    if (pick < users) return hash;
    pick -= users;
  }
  return dummies.classes[0]!.hash;
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
    const dummyKey = createHash('sha256').update('htpasswd unknown-user cost\0').update(text, 'utf8').digest();
    return { users: entries, generation, dummyKey };
  }

  let watched: WatchedFile;
  let current: UserMap;
  let dummies: DummyHashes | undefined;

  function refreshDummyHash(forMap: UserMap): void {
    dummyHashesFor(forMap).then(
      (next) => {
        if (current === forMap) dummies = next;
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
      ...logAvailability(logger, path, 'htpasswd', 'users'),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`htpasswd file not found: ${path}`, { cause: error });
    throw new Error(`cannot read htpasswd file ${path}: ${(error as Error).message}`, { cause: error });
  }
  current = load(watched.text, 0);
  const initial = current;
  try {
    const initialDummies = await dummyHashesFor(initial);
    // A reload during the wait may already have installed the dummy hash for the newer map.
    if (current === initial || dummies === undefined) dummies = initialDummies;
  } catch (error) {
    await watched.close();
    throw error;
  }
  logger.info({ path, users: current.users.size }, 'htpasswd: users loaded');

  async function verify(user: string, password: string, map: UserMap): Promise<boolean> {
    const entry = map.users.get(user);
    stats.hashVerifications++;
    if (!entry) {
      if (dummies) {
        const dummy = dummyFor(dummies, user);
        await verifyPassword(password, dummy.hash, dummy.format);
      }
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
        gatewayMetrics.credentialCache.inc({ result: 'hit' });
        return { ok: true, user };
      }
      const admission = throttle.admit(clientAddress, user, key);
      if (admission.throttled) {
        stats.throttled++;
        logger.debug({ clientAddress, scope: admission.scope }, 'htpasswd: login attempt throttled');
        return { ok: false, reason: 'throttled', retryAfterSeconds: admission.retryAfterSeconds };
      }

      const map = current;
      gatewayMetrics.credentialCache.inc({ result: 'miss' });
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

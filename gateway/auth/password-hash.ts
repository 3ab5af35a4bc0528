// One password against one htpasswd hash, in every format Apache's `htpasswd` writes (plus the
// glibc `$1$` MD5-crypt that Apache on Linux also accepts), and new hashes for `user add`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcrypt';
import { encrypt as shaCrypt } from 'unixcrypt';

// Both are CommonJS packages whose default export TypeScript cannot see under NodeNext
// (apache-md5 ships an ESM-style declaration, unix-crypt-td-js none), so load them with require.
const require = createRequire(import.meta.url);
const md5Crypt = require('apache-md5') as (password: string, salt?: string) => string;
const desCrypt = require('unix-crypt-td-js') as (password: number[], salt: string) => string;

export type HashFormat =
  | 'bcrypt'
  | 'apr1'
  | 'md5-crypt'
  | 'sha256-crypt'
  | 'sha512-crypt'
  | 'sha1'
  | 'des-crypt'
  | 'plaintext';

/** The formats `hashPassword` can create (the secure ones `htpasswd` offers). */
export type NewHashFormat = 'bcrypt' | 'apr1' | 'sha256' | 'sha512';

const FORMAT_NAMES: Record<HashFormat, string> = {
  bcrypt: 'bcrypt',
  apr1: 'Apache MD5 ($apr1$)',
  'md5-crypt': 'MD5-crypt ($1$)',
  'sha256-crypt': 'SHA-256-crypt ($5$)',
  'sha512-crypt': 'SHA-512-crypt ($6$)',
  sha1: 'unsalted SHA-1 ({SHA})',
  'des-crypt': 'DES crypt',
  plaintext: 'plaintext',
};

export function describeHashFormat(format: HashFormat): string {
  return FORMAT_NAMES[format];
}

/** Unsalted or trivially brute-forced: accepted with a warning, or refused by `refuseinsecure`. */
export function isInsecureFormat(format: HashFormat): boolean {
  return format === 'sha1' || format === 'des-crypt' || format === 'plaintext';
}

const CRYPT64 = './0-9A-Za-z';
const FORMAT_PATTERNS: ReadonlyArray<readonly [HashFormat, RegExp]> = [
  ['bcrypt', new RegExp(`^\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[${CRYPT64}]{53}$`)],
  ['apr1', new RegExp(`^\\$apr1\\$[^$]{0,8}\\$[${CRYPT64}]{22}$`)],
  ['md5-crypt', new RegExp(`^\\$1\\$[^$]{0,8}\\$[${CRYPT64}]{22}$`)],
  ['sha256-crypt', new RegExp(`^\\$5\\$(rounds=[0-9]{1,9}\\$)?[${CRYPT64}]{0,16}\\$[${CRYPT64}]{43}$`)],
  ['sha512-crypt', new RegExp(`^\\$6\\$(rounds=[0-9]{1,9}\\$)?[${CRYPT64}]{0,16}\\$[${CRYPT64}]{86}$`)],
  ['sha1', /^\{SHA\}[A-Za-z0-9+/]{27}=$/],
  ['des-crypt', new RegExp(`^[${CRYPT64}]{13}$`)],
];

/**
 * The format of a stored hash, or undefined when it looks like a hash (`$…$`, `{SHA}`) but is
 * malformed or of an unsupported kind. Anything else is plaintext (`htpasswd -p`), except that a
 * 13-character plaintext password made only of crypt characters reads as DES crypt, as in Apache.
 */
export function detectHashFormat(hash: string): HashFormat | undefined {
  for (const [format, pattern] of FORMAT_PATTERNS) {
    if (pattern.test(hash)) return format;
  }
  if (/^\$[0-9a-z]+\$/.test(hash) || hash.startsWith('{SHA}')) return undefined;
  return 'plaintext';
}

/** Compares two strings in time that does not depend on where they differ (nor on their lengths). */
function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a, 'utf8').digest();
  const digestB = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB);
}

/** apache-md5 hashes each character as one byte; Apache hashes the UTF-8 bytes. */
function asByteString(password: string): string {
  return Buffer.from(password, 'utf8').toString('latin1');
}

/** Everything up to the last `$`: the part of a crypt hash that selects algorithm, rounds and salt. */
function cryptSettings(hash: string): string {
  return hash.slice(0, hash.lastIndexOf('$'));
}

/**
 * Longer passwords are refused without hashing: SHA-crypt's work grows with the square of the
 * password length, so a 16 KB Basic auth header would block the event loop for a long time.
 * Apache's htpasswd itself accepts at most 255 characters.
 */
export const MAX_PASSWORD_BYTES = 1024;

/**
 * Checks `password` against `hash`. Never throws for a wrong password or a malformed hash (false).
 * bcrypt runs on the libuv threadpool; the other formats are fast enough to run inline (SHA-crypt
 * with the default 5000 rounds takes a few milliseconds).
 */
export async function verifyPassword(
  password: string,
  hash: string,
  format: HashFormat | undefined = detectHashFormat(hash),
): Promise<boolean> {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
  try {
    switch (format) {
      case 'bcrypt':
        // The native binding knows $2a$ and $2b$; $2y$ (PHP's and Apache's name) is the same algorithm.
        return await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
      case 'apr1':
      case 'md5-crypt':
        return constantTimeEqual(md5Crypt(asByteString(password), hash), hash);
      case 'sha256-crypt':
      case 'sha512-crypt':
        return constantTimeEqual(shaCrypt(password, cryptSettings(hash)), hash);
      case 'sha1':
        return constantTimeEqual(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash);
      case 'des-crypt':
        return constantTimeEqual(desCrypt([...Buffer.from(password, 'utf8')], hash.slice(0, 2)), hash);
      case 'plaintext':
        return constantTimeEqual(password, hash);
      case undefined:
        return false;
    }
  } catch {
    // A library rejecting an odd salt or rounds value means "does not match", not a server error.
    return false;
  }
}

/** `length` random characters of the crypt alphabet (256 is a multiple of 64: no bias). */
function randomSalt(length: number): string {
  const alphabet = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(length)].map((byte) => alphabet[byte & 63]).join('');
}

const BCRYPT_MAX_PASSWORD_BYTES = 72;

async function bcryptHash(password: string, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new RangeError(`bcrypt cost must be an integer from 4 to 31, got ${cost}`);
  }
  if (Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES) {
    // bcrypt silently ignores the rest; refusing is less surprising (Go's bcrypt does the same).
    throw new RangeError(`bcrypt uses at most ${BCRYPT_MAX_PASSWORD_BYTES} bytes of a password`);
  }
  const hash = await bcrypt.hash(password, await bcrypt.genSalt(cost));
  // Write what `htpasswd -B` writes; every reader (Apache, Go's bcrypt in registry:2) accepts $2y$.
  return hash.replace(/^\$2b\$/, '$2y$');
}

/**
 * A new htpasswd hash for `password`. `cost` is the bcrypt cost (4-31); SHA-crypt uses the
 * default 5000 rounds, like `htpasswd -2`/`-5` without `-r`.
 */
export async function hashPassword(password: string, format: NewHashFormat = 'bcrypt', cost = 10): Promise<string> {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new RangeError(`a password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  }
  switch (format) {
    case 'bcrypt':
      return bcryptHash(password, cost);
    case 'apr1':
      return md5Crypt(asByteString(password), `$apr1$${randomSalt(8)}`);
    case 'sha256':
      return shaCrypt(password, `$5$${randomSalt(16)}`);
    case 'sha512':
      return shaCrypt(password, `$6$${randomSalt(16)}`);
    default:
      throw new TypeError(`unknown hash format: ${String(format)}`);
  }
}

/** The bcrypt cost or SHA-crypt rounds of a hash: what makes one verification slow. */
export function hashWorkFactor(hash: string, format: HashFormat): string {
  if (format === 'bcrypt') return `bcrypt/${hash.slice(4, 6)}`;
  if (format === 'sha256-crypt' || format === 'sha512-crypt') {
    return `${format}/${/^\$[56]\$rounds=([0-9]+)\$/.exec(hash)?.[1] ?? '5000'}`;
  }
  return format;
}

/**
 * A hash of `password` with the same format and work factor as `example` (used to build the
 * dummy hash unknown users are checked against, so that they cost as much as a wrong password).
 */
export async function hashLike(password: string, example: string, format: HashFormat): Promise<string> {
  switch (format) {
    case 'bcrypt':
      return bcryptHash(password, Number(example.slice(4, 6)));
    case 'apr1':
      return md5Crypt(asByteString(password), `$apr1$${randomSalt(8)}`);
    case 'md5-crypt':
      return md5Crypt(asByteString(password), `$1$${randomSalt(8)}`);
    case 'sha256-crypt':
    case 'sha512-crypt': {
      const rounds = /^(\$[56]\$rounds=[0-9]+\$)/.exec(example)?.[1] ?? example.slice(0, 3);
      return shaCrypt(password, `${rounds}${randomSalt(16)}`);
    }
    case 'sha1':
      return `{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`;
    case 'des-crypt':
      return desCrypt([...Buffer.from(password, 'utf8')], randomSalt(2));
    case 'plaintext':
      return password;
  }
}

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import bcrypt from 'bcrypt';
import {
  detectHashFormat,
  hashLike,
  hashPassword,
  isInsecureFormat,
  MAX_PASSWORD_BYTES,
  verifyPassword,
  type HashFormat,
  type NewHashFormat,
} from '../../../gateway/auth/password-hash.js';
import { hashOf, htpasswd, htpasswdLine, temporaryDirectory } from './helpers.js';

const run = promisify(execFile);

// Every format Apache's htpasswd writes, created by the real command.
const HTPASSWD_FORMATS: ReadonlyArray<{ flags: string[]; format: HashFormat; password: string }> = [
  { flags: ['-B'], format: 'bcrypt', password: 'correct horse' },
  { flags: ['-B', '-C', '5'], format: 'bcrypt', password: 'battery staple' },
  { flags: ['-m'], format: 'apr1', password: 'md5 pass' },
  { flags: ['-2'], format: 'sha256-crypt', password: 'sha256 pass' },
  { flags: ['-5'], format: 'sha512-crypt', password: 'sha512 pass' },
  { flags: ['-5', '-r', '12000'], format: 'sha512-crypt', password: 'more rounds' },
  { flags: ['-s'], format: 'sha1', password: 'sha1 pass' },
  { flags: ['-d'], format: 'des-crypt', password: 'des-pw' },
  { flags: ['-p'], format: 'plaintext', password: 'plain pass' },
];

for (const { flags, format, password } of HTPASSWD_FORMATS) {
  test(`htpasswd ${flags.join(' ')}: detected as ${format}, right password accepted, wrong refused`, async (t) => {
    const hash = hashOf(await htpasswdLine(flags, 'someone', password));
    t.is(detectHashFormat(hash), format);
    t.true(await verifyPassword(password, hash));
    t.false(await verifyPassword(`${password}x`, hash));
    t.false(await verifyPassword('', hash));
    t.false(await verifyPassword(password.toUpperCase(), hash));
  });
}

for (const flags of [['-B'], ['-m'], ['-2'], ['-5'], ['-s'], ['-p']]) {
  test(`htpasswd ${flags.join(' ')}: a non-ASCII password is compared as its UTF-8 bytes`, async (t) => {
    const password = 'pässwörd-日本';
    const hash = hashOf(await htpasswdLine(flags, 'someone', password));
    t.true(await verifyPassword(password, hash));
    t.false(await verifyPassword('passwort-日本', hash));
  });
}

test('DES crypt uses only the first 8 characters, like crypt(3)', async (t) => {
  const hash = hashOf(await htpasswdLine(['-d'], 'someone', 'abcdefgh'));
  t.true(await verifyPassword('abcdefgh', hash));
  t.true(await verifyPassword('abcdefghIGNORED', hash));
  t.false(await verifyPassword('abcdefgX', hash));
});

test('$2y$, $2a$ and $2b$ bcrypt hashes all verify', async (t) => {
  const fromHtpasswd = hashOf(await htpasswdLine(['-B', '-C', '4'], 'someone', 'secret'));
  t.regex(fromHtpasswd, /^\$2y\$04\$/);
  const fromLibraryA = await bcrypt.hash('secret', await bcrypt.genSalt(4, 'a'));
  const fromLibraryB = await bcrypt.hash('secret', await bcrypt.genSalt(4, 'b'));
  t.regex(fromLibraryA, /^\$2a\$/);
  t.regex(fromLibraryB, /^\$2b\$/);
  for (const hash of [fromHtpasswd, fromLibraryA, fromLibraryB, fromHtpasswd.replace('$2y$', '$2b$'), fromHtpasswd.replace('$2y$', '$2a$')]) {
    t.is(detectHashFormat(hash), 'bcrypt');
    t.true(await verifyPassword('secret', hash), hash.slice(0, 7));
    t.false(await verifyPassword('Secret', hash), hash.slice(0, 7));
  }
});

test('glibc MD5-crypt ($1$, what Apache on Linux accepts through crypt()) verifies', async (t) => {
  const { stdout } = await run('openssl', ['passwd', '-1', 'md5crypt pw']);
  const hash = stdout.trim();
  t.is(detectHashFormat(hash), 'md5-crypt');
  t.true(await verifyPassword('md5crypt pw', hash));
  t.false(await verifyPassword('md5crypt pW', hash));
});

test('malformed or unsupported hashes are recognised as such and never match', async (t) => {
  const bcryptHash = hashOf(await htpasswdLine(['-B', '-C', '4'], 'someone', 'secret'));
  for (const hash of [
    bcryptHash.slice(0, -1), // truncated
    bcryptHash.replace('$04$', '$99$'),
    '$apr1$abc$tooshort',
    '$6$salt$short',
    '$y$j9T$unsupported$yescrypt',
    '{SHA}notbase64',
  ]) {
    t.is(detectHashFormat(hash), undefined, hash);
    t.false(await verifyPassword('secret', hash));
  }
});

test('only SHA-1, DES crypt and plaintext are insecure', (t) => {
  const insecure: HashFormat[] = ['sha1', 'des-crypt', 'plaintext'];
  const secure: HashFormat[] = ['bcrypt', 'apr1', 'md5-crypt', 'sha256-crypt', 'sha512-crypt'];
  for (const format of insecure) t.true(isInsecureFormat(format), format);
  for (const format of secure) t.false(isInsecureFormat(format), format);
});

const NEW_FORMATS: ReadonlyArray<{ format: NewHashFormat; prefix: RegExp }> = [
  { format: 'bcrypt', prefix: /^\$2y\$05\$/ },
  { format: 'apr1', prefix: /^\$apr1\$/ },
  { format: 'sha256', prefix: /^\$5\$/ },
  { format: 'sha512', prefix: /^\$6\$/ },
];

for (const { format, prefix } of NEW_FORMATS) {
  test(`hashPassword(${format}) writes a hash the real htpasswd -v accepts`, async (t) => {
    const directory = await temporaryDirectory(t);
    const file = join(directory, 'htpasswd');
    const password = 'new pässword';
    const hash = await hashPassword(password, format, 5);
    t.regex(hash, prefix);
    t.not(await hashPassword(password, format, 5), hash, 'a fresh salt every time');
    await writeFile(file, `alice:${hash}\n`);
    t.is((await htpasswd('-vb', file, 'alice', password)).code, 0);
    t.not((await htpasswd('-vb', file, 'alice', 'wrong')).code, 0);
    t.true(await verifyPassword(password, hash));
  });
}

test('hashPassword defaults to bcrypt with cost 10, and refuses what bcrypt would silently truncate', async (t) => {
  t.regex(await hashPassword('pw'), /^\$2y\$10\$/);
  await t.throwsAsync(hashPassword('x'.repeat(73)), { instanceOf: RangeError });
  await t.throwsAsync(hashPassword('pw', 'bcrypt', 3), { instanceOf: RangeError });
  t.regex(await hashPassword('x'.repeat(72), 'bcrypt', 4), /^\$2y\$04\$/);
});

test('hashLike makes a hash with the same format and work factor as its example', async (t) => {
  const examples = [
    hashOf(await htpasswdLine(['-B', '-C', '6'], 'someone', 'x')),
    hashOf(await htpasswdLine(['-m'], 'someone', 'x')),
    hashOf(await htpasswdLine(['-5', '-r', '7000'], 'someone', 'x')),
    hashOf(await htpasswdLine(['-2'], 'someone', 'x')),
    hashOf(await htpasswdLine(['-s'], 'someone', 'x')),
    hashOf(await htpasswdLine(['-d'], 'someone', 'x')),
  ];
  for (const example of examples) {
    const format = detectHashFormat(example);
    if (!format) return t.fail(`undetected example ${example}`);
    const made = await hashLike('other', example, format);
    t.is(detectHashFormat(made), format);
    t.true(await verifyPassword('other', made));
  }
  const bcryptLike = await hashLike('other', examples[0]!, 'bcrypt');
  t.is(bcrypt.getRounds(bcryptLike.replace('$2y$', '$2b$')), 6);
  t.regex(await hashLike('other', examples[2]!, 'sha512-crypt'), /^\$6\$rounds=7000\$/);
});

test('absurdly long passwords are refused without spending CPU on them', async (t) => {
  const hash = await hashPassword('short', 'sha512');
  const started = performance.now();
  t.false(await verifyPassword('x'.repeat(16 * 1024), hash));
  t.true(performance.now() - started < 50);
  await t.throwsAsync(hashPassword('x'.repeat(MAX_PASSWORD_BYTES + 1), 'sha512'), { instanceOf: RangeError });
  const longest = 'y'.repeat(MAX_PASSWORD_BYTES);
  t.true(await verifyPassword(longest, await hashPassword(longest, 'sha512')));
});

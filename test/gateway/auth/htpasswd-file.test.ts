import { chmod, lstat, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { listUsers, removeUser, setUser } from '../../../gateway/auth/htpasswd-edit.js';
import { parseHtpasswd } from '../../../gateway/auth/htpasswd-file.js';
import { writeHtpasswdFile } from '../../../gateway/auth/htpasswd-write.js';
import { hashPassword } from '../../../gateway/auth/password-hash.js';
import { hashOf, htpasswd, htpasswdLine, temporaryDirectory } from './helpers.js';

test('parses users, skipping comments, blank lines and CRLF endings', async (t) => {
  const alice = await htpasswdLine(['-B', '-C', '4'], 'alice', 'a');
  const bob = await htpasswdLine(['-m'], 'bob', 'b');
  const text = `# team registry\r\n${alice}\r\n\r\n   \r\n  ${bob}  \r\n`;
  const { entries, problems } = parseHtpasswd(text);
  t.deepEqual(problems, []);
  t.deepEqual([...entries.keys()], ['alice', 'bob']);
  t.deepEqual(entries.get('alice'), { user: 'alice', hash: hashOf(alice), format: 'bcrypt', line: 2 });
  t.is(entries.get('bob')?.line, 5);
  t.is(entries.get('bob')?.format, 'apr1');
});

test('broken lines are reported by line number without their content, and skipped', async (t) => {
  const alice = await htpasswdLine(['-B', '-C', '4'], 'alice', 'a');
  const pastedPassword = 'hunter2-without-a-colon';
  const text = [pastedPassword, alice, ':$apr1$no$user', 'carol:', 'dave:$2y$05$truncated', 'erin:$y$j9T$yescrypt$x'].join('\n');
  const { entries, problems } = parseHtpasswd(text);
  t.deepEqual([...entries.keys()], ['alice']);
  t.deepEqual(
    problems.map(({ line, severity }) => ({ line, severity })),
    [1, 3, 4, 5, 6].map((line) => ({ line, severity: 'error' as const })),
  );
  for (const problem of problems) {
    t.true(problem.message.startsWith(`line ${problem.line}: `), problem.message);
    t.false(problem.message.includes(pastedPassword));
    t.false(problem.message.includes('$2y$05$truncated'));
    t.false(problem.message.includes('yescrypt'));
  }
});

test('a duplicate user keeps its first line and the duplicate is reported', async (t) => {
  const first = await htpasswdLine(['-B', '-C', '4'], 'alice', 'first');
  const second = await htpasswdLine(['-B', '-C', '4'], 'alice', 'second');
  const { entries, problems } = parseHtpasswd(`${first}\n${second}\n`);
  t.is(entries.get('alice')?.hash, hashOf(first));
  t.is(problems.length, 1);
  t.is(problems[0]?.line, 2);
  t.is(problems[0]?.severity, 'warning');
  t.regex(problems[0]?.message ?? '', /already defined on line 1/);
});

test('insecure lines are accepted with a warning, or refused with refuseInsecure; the hash is never in the message', async (t) => {
  const lines = [
    await htpasswdLine(['-B', '-C', '4'], 'secure', 'pw'),
    await htpasswdLine(['-s'], 'sha', 'pw'),
    await htpasswdLine(['-d'], 'crypt', 'pw'),
    await htpasswdLine(['-p'], 'plain', 'pw-plain'),
  ];
  const text = lines.join('\n');

  const accepted = parseHtpasswd(text);
  t.deepEqual([...accepted.entries.keys()], ['secure', 'sha', 'crypt', 'plain']);
  t.deepEqual(
    accepted.problems.map(({ line, severity }) => ({ line, severity })),
    [2, 3, 4].map((line) => ({ line, severity: 'warning' as const })),
  );

  const refused = parseHtpasswd(text, { refuseInsecure: true });
  t.deepEqual([...refused.entries.keys()], ['secure']);
  t.deepEqual(
    refused.problems.map(({ line, severity }) => ({ line, severity })),
    [2, 3, 4].map((line) => ({ line, severity: 'error' as const })),
  );

  for (const problem of [...accepted.problems, ...refused.problems]) {
    t.regex(problem.message, new RegExp(`^line ${problem.line}: `));
    for (const line of lines) t.false(problem.message.includes(hashOf(line)), problem.message);
  }
});

test('setUser replaces a user in place, keeps every other line, and drops duplicates', async (t) => {
  const original = ['# managed by hand', 'alice:$apr1$old', 'not a valid line', '', 'bob:{SHA}kept', 'alice:dup'].join('\n') + '\n';
  const hash = await hashPassword('new', 'bcrypt', 4);
  const updated = setUser(original, 'alice', hash);
  t.is(updated, ['# managed by hand', `alice:${hash}`, 'not a valid line', '', 'bob:{SHA}kept'].join('\n') + '\n');
});

test('setUser appends a new user, adding the missing final newline and keeping CRLF', async (t) => {
  const hash = await hashPassword('pw', 'apr1');
  t.is(setUser('', 'carol', hash), `carol:${hash}\n`);
  t.is(setUser('alice:x', 'carol', hash), `alice:x\ncarol:${hash}\n`);
  t.is(setUser('# c\r\nalice:x\r\n', 'carol', hash), `# c\r\nalice:x\r\ncarol:${hash}\r\n`);
  t.is(setUser('# c\r\nalice:x\r\n', 'alice', hash), `# c\r\nalice:${hash}\r\n`);
});

test('setUser refuses names and hashes that would not read back', async (t) => {
  const hash = await hashPassword('pw', 'apr1');
  for (const user of ['', 'a:b', 'a\nb', ' alice', 'alice ', '#alice', 'x'.repeat(256)]) {
    t.throws(() => setUser('', user, hash), undefined, JSON.stringify(user));
  }
  for (const badHash of ['', 'two\nlines', ' padded', '$2y$05$truncated']) {
    t.throws(() => setUser('', 'alice', badHash), undefined, JSON.stringify(badHash));
  }
});

test('removeUser removes every line of the user and nothing else; listUsers lists each user once', (t) => {
  const text = '# c\nalice:x\nbob:y\nalice:z\n\ncarol:w\n';
  t.deepEqual(listUsers(text), ['alice', 'bob', 'carol']);
  t.is(removeUser(text, 'alice'), '# c\nbob:y\n\ncarol:w\n');
  t.is(removeUser(text, 'nobody'), text);
  t.deepEqual(listUsers(removeUser(text, 'bob')), ['alice', 'carol']);
});

test('files edited here and by the real htpasswd stay interchangeable', async (t) => {
  const directory = await temporaryDirectory(t);
  const file = join(directory, 'htpasswd');
  t.is((await htpasswd('-cbB', '-C', '4', file, 'alice', 'alice-pw')).code, 0);
  t.is((await htpasswd('-bm', file, 'bob', 'bob-pw')).code, 0);

  let text = await readFile(file, 'utf8');
  text = setUser(text, 'carol', await hashPassword('carol-pw', 'bcrypt', 4));
  text = setUser(text, 'alice', await hashPassword('alice-new', 'sha512'));
  text = removeUser(text, 'bob');
  await writeHtpasswdFile(file, text);

  t.is((await htpasswd('-vb', file, 'alice', 'alice-new')).code, 0);
  t.not((await htpasswd('-vb', file, 'alice', 'alice-pw')).code, 0);
  t.is((await htpasswd('-vb', file, 'carol', 'carol-pw')).code, 0);
  t.not((await htpasswd('-vb', file, 'bob', 'bob-pw')).code, 0);

  t.is((await htpasswd('-bB', '-C', '4', file, 'dave', 'dave-pw')).code, 0);
  const { entries, problems } = parseHtpasswd(await readFile(file, 'utf8'));
  t.deepEqual(problems, []);
  t.deepEqual([...entries.keys()], ['alice', 'carol', 'dave']);
});

test('writeHtpasswdFile creates a file with mode 0600 and keeps an existing mode', async (t) => {
  const directory = await temporaryDirectory(t);
  const created = join(directory, 'new');
  await writeHtpasswdFile(created, 'alice:x\n');
  t.is((await stat(created)).mode & 0o777, 0o600);
  t.is(await readFile(created, 'utf8'), 'alice:x\n');

  const existing = join(directory, 'existing');
  await writeFile(existing, 'old\n');
  await chmod(existing, 0o640);
  const before = await stat(existing);
  await writeHtpasswdFile(existing, 'alice:y\n');
  const after = await stat(existing);
  t.is(after.mode & 0o777, 0o640);
  t.not(after.ino, before.ino, 'replaced by rename, not rewritten in place');
  t.is(await readFile(existing, 'utf8'), 'alice:y\n');
});

test('writeHtpasswdFile replaces the target of a symbolic link and keeps the link', async (t) => {
  const directory = await temporaryDirectory(t);
  const target = join(directory, 'real-htpasswd');
  const link = join(directory, 'htpasswd');
  await writeFile(target, 'old\n');
  await symlink(target, link);
  await writeHtpasswdFile(link, 'alice:z\n');
  t.true((await lstat(link)).isSymbolicLink());
  t.is(await readlink(link), target);
  t.is(await readFile(target, 'utf8'), 'alice:z\n');
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from './run-cli.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'registry-cli-user-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Apache's own check: `htpasswd -vb FILE user password` exits 0 when the password matches. */
function htpasswdAccepts(file: string, user: string, password: string): boolean {
  const result = spawnSync('htpasswd', ['-vb', file, user, password], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return result.status === 0;
}

test('user add creates ./auth/htpasswd (mode 0600) with a bcrypt hash htpasswd accepts', async (t) => {
  const dir = tempDir(t);
  const result = await runCli(['user', 'add', 'alice', '--password-stdin'], { cwd: dir, input: 's3cret pass\n' });
  t.is(result.code, 0, result.stderr);
  const file = join(dir, 'auth', 'htpasswd');
  t.is(statSync(file).mode & 0o777, 0o600);
  t.regex(readFileSync(file, 'utf8'), /^alice:\$2y\$10\$[./A-Za-z0-9]{53}\n$/);
  t.true(htpasswdAccepts(file, 'alice', 's3cret pass'));
  t.false(htpasswdAccepts(file, 'alice', 's3cret pass\n'));
  t.false(htpasswdAccepts(file, 'alice', 'wrong'));
  t.false(result.stdout.includes('s3cret') || result.stderr.includes('s3cret'));
  t.regex(result.stderr, /added user "alice" to .*auth\/htpasswd \(bcrypt\)/);
});

test('user add, passwd, rm and list on a file named by --file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'secrets', 'users');
  const run = (...args: string[]) => runCli(['user', ...args, '--file', file]);

  t.is((await run('add', 'alice', '--password', 'first-pass', '--cost', '5')).code, 0);
  t.regex(readFileSync(file, 'utf8'), /^alice:\$2y\$05\$/);
  t.is((await run('add', 'bob', '--password', 'bob-md5', '--format', 'apr1')).code, 0);
  t.is((await run('add', 'carol', '--password', 'carol-sha', '--format', 'sha512')).code, 0);
  t.is((await run('add', 'dave', '--password', 'dave-sha', '--format', 'sha256')).code, 0);
  t.true(htpasswdAccepts(file, 'alice', 'first-pass'));
  t.true(htpasswdAccepts(file, 'bob', 'bob-md5'));
  t.true(htpasswdAccepts(file, 'carol', 'carol-sha'));
  t.true(htpasswdAccepts(file, 'dave', 'dave-sha'));

  const passwd = await runCli(['user', 'passwd', 'alice', '--password-stdin', '--file', file], { input: 'second-pass' });
  t.is(passwd.code, 0, passwd.stderr);
  t.true(htpasswdAccepts(file, 'alice', 'second-pass'));
  t.false(htpasswdAccepts(file, 'alice', 'first-pass'));
  t.true(htpasswdAccepts(file, 'bob', 'bob-md5'), 'other users are untouched');

  const list = await run('list');
  t.is(list.code, 0);
  t.is(list.stdout, 'alice\nbob\ncarol\ndave\n');

  t.is((await run('rm', 'bob')).code, 0);
  t.is((await run('list')).stdout, 'alice\ncarol\ndave\n');
  t.true(htpasswdAccepts(file, 'alice', 'second-pass'));
});

test('the htpasswd file defaults to auth.htpasswd.path from the configuration', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'from-config', 'htpasswd');
  const env = { REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_PATH: file };
  t.is((await runCli(['user', 'add', 'erin', '--password', 'erin-pass'], { cwd: dir, env })).code, 0);
  t.true(htpasswdAccepts(file, 'erin', 'erin-pass'));
  t.false(existsSync(join(dir, 'auth')));

  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, `version: 0.1\nauth:\n  htpasswd:\n    realm: r\n    path: ${file}\n`);
  const list = await runCli(['user', 'list', '--config', configFile], { cwd: dir });
  t.is(list.stdout, 'erin\n');
});

test('user commands refuse what would go wrong, and change nothing', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'htpasswd');
  t.is((await runCli(['user', 'add', 'alice', '--password', 'pw', '--file', file])).code, 0);
  const before = readFileSync(file, 'utf8');

  const cases: Array<[string[], string | undefined, number, RegExp]> = [
    [['add', 'alice', '--password', 'x'], undefined, 1, /user "alice" already exists .*registry user passwd alice/],
    [['passwd', 'nobody', '--password', 'x'], undefined, 1, /no user "nobody" in /],
    [['rm', 'nobody'], undefined, 1, /no user "nobody" in /],
    [['add', 'bob', '--password-stdin'], '', 1, /empty password refused/],
    [['add', 'bob', '--password-stdin'], '\n', 1, /empty password refused/],
    [['add', 'bob', '--password', ''], undefined, 1, /empty password refused/],
    [['add', 'bob'], undefined, 1, /no password given: use --password-stdin/],
    [['add', 'bob', '--password-stdin', '--password', 'x'], undefined, 2, /either --password-stdin or --password/],
    [['add', 'bob:x', '--password', 'x'], undefined, 1, /invalid user name "bob:x"/],
    [['add', 'bob', '--password', 'x', '--format', 'md5'], undefined, 2, /--format must be one of bcrypt, apr1, sha256, sha512/],
    [['add', 'bob', '--password', 'x', '--cost', '99'], undefined, 2, /--cost must be a whole number from 4 to 31/],
    [['add', 'bob', '--password', 'x', '--format', 'apr1', '--cost', '5'], undefined, 2, /--cost applies to --format bcrypt only/],
    [['add'], undefined, 2, /missing user name/],
    [['frob'], undefined, 2, /unknown command "user frob"/],
  ];
  for (const [args, input, code, message] of cases) {
    const result = await runCli(['user', ...args, '--file', file], { input });
    t.is(result.code, code, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
  }
  t.is(readFileSync(file, 'utf8'), before);

  const missing = await runCli(['user', 'list', '--file', join(dir, 'none')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /none does not exist \(add a first user with `registry user add NAME`\)/);
});

test('a bad configuration stops user commands unless --file is given', async (t) => {
  const dir = tempDir(t);
  const env = { REGISTRY_STORAGE_DELETE_ENABLED: 'maybe' };
  const bad = await runCli(['user', 'list'], { cwd: dir, env });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /REGISTRY_STORAGE_DELETE_ENABLED .*\n\(name the htpasswd file with --file to edit it anyway\)/);
  const file = join(dir, 'h');
  t.is((await runCli(['user', 'add', 'x', '--password', 'y', '--file', file], { cwd: dir, env })).code, 0);
});

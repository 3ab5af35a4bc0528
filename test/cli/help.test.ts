import { readFileSync } from 'node:fs';
import test from 'ava';
import { runCli } from './run-cli.js';

const COMMANDS: Array<[string[], string]> = [
  [['--help'], 'Usage: registry <command> [options]'],
  [['help'], 'Usage: registry <command> [options]'],
  [['start', '--help'], 'Usage: registry start [--config FILE]'],
  [['storage', '--help'], 'Usage: registry storage [--config FILE]'],
  [['gateway', '-h'], 'Usage: registry gateway [--config FILE]'],
  [['user', '--help'], 'Usage: registry user <command> [options]'],
  [['user', 'add', '--help'], 'Usage: registry user add <name>'],
  [['user', 'passwd', '--help'], 'Usage: registry user passwd <name>'],
  [['user', 'rm', '--help'], 'Usage: registry user rm <name>'],
  [['user', 'list', '--help'], 'Usage: registry user list'],
  [['config', '--help'], 'Usage: registry config <command>'],
  [['config', 'check', '--help'], 'Usage: registry config check [--config FILE]'],
  [['version', '--help'], 'Usage: registry version'],
  [['help', 'start'], 'Usage: registry start [--config FILE]'],
];

for (const [args, usage] of COMMANDS) {
  test(`registry ${args.join(' ')} prints its usage`, async (t) => {
    const result = await runCli(args);
    t.is(result.code, 0, result.stderr);
    t.true(result.stdout.startsWith(usage), result.stdout);
    t.is(result.stderr, '');
  });
}

test('the top-level help lists every command', async (t) => {
  const { stdout } = await runCli(['--help']);
  for (const command of ['start', 'storage', 'gateway', 'user', 'config check', 'version', 'help']) {
    t.regex(stdout, new RegExp(`^  ${command} `, 'm'), command);
  }
});

test('no command, an unknown command or an unknown option is a usage error (status 2)', async (t) => {
  const none = await runCli([]);
  t.is(none.code, 2);
  t.regex(none.stderr, /Usage: registry <command>/);

  const unknown = await runCli(['frobnicate']);
  t.is(unknown.code, 2);
  t.is(unknown.stderr, 'registry: unknown command "frobnicate" (see `registry --help`)\n');

  const option = await runCli(['config', 'check', '--bogus']);
  t.is(option.code, 2);
  t.regex(option.stderr, /^registry: Unknown option '--bogus'.* \(see `registry config check --help`\)\n$/);

  const extra = await runCli(['user', 'list', 'surplus']);
  t.is(extra.code, 2);
  t.regex(extra.stderr, /unexpected argument "surplus" \(see `registry user list --help`\)/);
});

test('registry version prints the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const result = await runCli(['version']);
  t.is(result.code, 0);
  t.is(result.stdout, `registry ${version} (node ${process.versions.node})\n`);
});

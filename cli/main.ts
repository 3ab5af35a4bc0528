#!/usr/bin/env node
// The `registry` command: runs the registry (both processes or one), manages htpasswd users,
// checks the configuration. Each command's module is loaded only when that command runs.
import { CommandError, UsageError } from './usage.js';

const HELP = `Usage: registry <command> [options]

A private container image registry, a drop-in replacement for registry:2 (same config.yml,
same REGISTRY_* environment variables, same htpasswd files, same data layout).

Commands:
  start            run the registry: the storage service and the gateway (child processes)
  storage          run only the storage service, in the foreground
  gateway          run only the gateway, in the foreground
  user             manage users in the htpasswd file (add, passwd, rm, list)
  config check     validate the configuration (and the access policy) and print it, secrets masked
  access check     whether a user may pull, push or delete a repository, and which rule decides
  gc               delete blobs no manifest references (like registry:2's garbage-collect), online
  repo delete      delete a whole repository
  version          print the version
  help [command]   show help for a command

Run \`registry <command> --help\` for a command's options.
`;

const LONG_RUNNING = new Set(['start', 'storage', 'gateway']);

type Command = (args: string[]) => Promise<number> | number;

const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.js')).startCommand,
  storage: async () => {
    const { serveCommand } = await import('./commands/serve.js');
    return (args) => serveCommand('storage', args);
  },
  gateway: async () => {
    const { serveCommand } = await import('./commands/serve.js');
    return (args) => serveCommand('gateway', args);
  },
  user: async () => (await import('./commands/user.js')).userCommand,
  config: async () => (await import('./commands/config.js')).configCommand,
  access: async () => (await import('./commands/access.js')).accessCommand,
  gc: async () => (await import('./commands/gc.js')).gcCommand,
  repo: async () => (await import('./commands/repo.js')).repoCommand,
  version: async () => (await import('./commands/version.js')).versionCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    process.stderr.write(HELP);
    return 2;
  }
  if (name === 'help' || name === '-h' || name === '--help') {
    const topic = args[0];
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) return (await COMMANDS[topic]())(['--help']);
    process.stdout.write(HELP);
    return 0;
  }
  if (name === '--version' || name === '-v') return (await COMMANDS.version())([]);
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command "${name}"`, '');
  return (await COMMANDS[name]())(args);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
    // The services have closed by now; do not wait on stray handles (watchers, keep-alive timers).
    if (LONG_RUNNING.has(process.argv[2])) process.exit(status);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      const help = error.command === '' ? 'registry --help' : `registry ${error.command} --help`;
      process.stderr.write(`registry: ${error.message} (see \`${help}\`)\n`);
      process.exit(2);
    }
    if (error instanceof CommandError) {
      process.stderr.write(`registry: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`registry: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);

// Command-line parsing shared by every command: node:util parseArgs, `--help` everywhere,
// and usage errors that point at the right help text.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: printed with a hint, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure to report without a stack trace, exit status 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export const CONFIG_OPTION = {
  config: { type: 'string', short: 'c' },
} as const satisfies Options;

export const CONFIG_HELP = `  -c, --config FILE   config.yml in registry:2 format (default: $REGISTRY_CONFIGURATION_PATH;
                      without one, defaults and REGISTRY_* environment variables only)`;

/**
 * Parses `args` for `command`. Returns undefined after printing `help` when -h/--help is given.
 * `positionals` is the exact number of arguments allowed after the options.
 */
export function parseCommandLine<O extends Options>(
  command: string,
  args: string[],
  options: O,
  help: string,
  positionals: { min: number; max: number; names?: string } = { min: 0, max: 0 },
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return undefined;
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`missing ${positionals.names ?? 'argument'}`, command);
  if (count > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`, command);
  return parsed;
}

/**
 * For a command group (`registry user|config|access <command>`): answers a missing subcommand
 * (usage on stderr, status 2) or a help request (stdout, 0); undefined for anything else.
 */
export function groupHelp(sub: string | undefined, help: string): number | undefined {
  if (sub !== undefined && sub !== '-h' && sub !== '--help' && sub !== 'help') return undefined;
  (sub === undefined ? process.stderr : process.stdout).write(help);
  return sub === undefined ? 2 : 0;
}

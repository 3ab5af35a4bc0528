// `registry config check`: load, validate, show the effective configuration (secrets masked).
import { describeSettings } from '../../common/config/describe.js';
import { describeAccessConfig } from '../../gateway/access/index.js';
import { loadPolicy } from './access.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { CONFIG_HELP, CONFIG_OPTION, parseCommandLine, UsageError, groupHelp } from '../usage.js';

const HELP = `Usage: registry config check [--config FILE]

Loads the configuration the way \`registry start\` would (config.yml, then REGISTRY_*
environment variables over it, then defaults), prints any warnings, and prints the effective
configuration in config.yml layout with secrets masked. With an access policy (access.path or
inline), the policy is checked too. Exits with status 1 and every problem (with its line) when
the configuration or the policy is invalid.

Options:
${CONFIG_HELP}
  -h, --help          show this help
`;

const GROUP_HELP = `Usage: registry config <command>

Commands:
  check     validate the configuration and print the effective settings (secrets masked)

Run \`registry config check --help\` for details.
`;

export async function configCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const helped = groupHelp(sub, GROUP_HELP);
  if (helped !== undefined) return helped;
  if (sub !== 'check') throw new UsageError(`unknown command "config ${sub}"`, 'config');
  const parsed = parseCommandLine('config check', rest, CONFIG_OPTION, HELP);
  if (!parsed) return 0;
  const { config, warnings, configPath } = loadForCommand(parsed.values.config);
  printWarnings(warnings);
  if (config.access) {
    const policy = await loadPolicy(config.access);
    process.stderr.write(`registry: access policy OK (${describeAccessConfig(config.access)}, ${policy.ruleCount} rules)\n`);
  }
  process.stdout.write(`# effective configuration (${configPath ?? 'no config file: defaults and environment'}); secrets masked\n`);
  process.stdout.write(describeSettings(config));
  process.stderr.write('registry: configuration OK\n');
  return 0;
}

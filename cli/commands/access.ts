// `registry access check USER ACTION REPOSITORY`: asks the access policy, as the gateway would,
// and says which rule decided. Exit status 0 when allowed, 1 when denied.
import { resolve } from 'node:path';
import type { AccessConfig } from '../../common/config/types.js';
import type { Action } from '../../common/v2-scope.js';
import { ACTIONS, ANONYMOUS, describeDecision, PolicyError, readAccessPolicy, type Subject } from '../../gateway/access/index.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { CommandError, CONFIG_HELP, CONFIG_OPTION, parseCommandLine, UsageError, groupHelp } from '../usage.js';

const HELP = `Usage: registry access check USER ACTION REPOSITORY [--policy FILE | --config FILE]
       registry access check --anonymous ACTION REPOSITORY [--policy FILE | --config FILE]

Says whether USER (after a successful login) may do ACTION (pull, push or delete) on
REPOSITORY under the access policy, and which rule decided. A request made without credentials
is checked with --anonymous. Exit status 0 when allowed, 1 when denied.

Options:
      --policy FILE   check this policy file instead of the configured policy
      --anonymous     check a request without credentials (then no USER)
${CONFIG_HELP}
  -h, --help          show this help
`;

const GROUP_HELP = `Usage: registry access <command>

Commands:
  check     whether a user may pull, push or delete a repository, and which rule decides

Run \`registry access check --help\` for details.
`;

const OPTIONS = {
  ...CONFIG_OPTION,
  policy: { type: 'string' },
  anonymous: { type: 'boolean' },
} as const;

export async function accessCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const helped = groupHelp(sub, GROUP_HELP);
  if (helped !== undefined) return helped;
  if (sub !== 'check') throw new UsageError(`unknown command "access ${sub}"`, 'access');
  const parsed = parseCommandLine('access check', rest, OPTIONS, HELP, { min: 2, max: 3, names: 'USER, ACTION or REPOSITORY' });
  if (!parsed) return 0;
  const anonymous = parsed.values.anonymous === true;
  const expected = anonymous ? 2 : 3;
  if (parsed.positionals.length !== expected) {
    throw new UsageError(anonymous ? 'with --anonymous give ACTION and REPOSITORY only' : 'give USER, ACTION and REPOSITORY', 'access check');
  }
  const [userOrAction, ...others] = parsed.positionals as [string, ...string[]];
  const [actionText, repository] = anonymous ? [userOrAction, others[0]!] : [others[0]!, others[1]!];
  const subject: Subject = anonymous ? ANONYMOUS : { user: userOrAction };
  const action = ACTIONS.find((a) => a === actionText);
  if (action === undefined) throw new UsageError(`unknown action "${actionText}" (one of ${ACTIONS.join(', ')})`, 'access check');

  const who = anonymous ? 'anonymous' : userOrAction;
  const access = configuredAccess(parsed.values.policy, parsed.values.config);
  if (!access.config) {
    // As the gateway without a policy: any user who logs in may do everything.
    const allowed = !anonymous || !access.authOn;
    const why = allowed
      ? `allowed: no access policy configured (${access.authOn ? 'every authenticated user may do everything' : 'no auth: everyone may do everything'})`
      : 'denied: no access policy configured and auth is on: credentials are required';
    process.stdout.write(`${who} ${action} ${repository}: ${why}\n`);
    return allowed ? 0 : 1;
  }
  const decision = (await loadPolicy(access.config)).decide(subject, action as Action, repository);
  process.stdout.write(`${who} ${action} ${repository}: ${describeDecision(decision)}\n`);
  return decision.allowed ? 0 : 1;
}

function configuredAccess(policyFile: string | undefined, configFile: string | undefined): { config?: AccessConfig; authOn: boolean } {
  if (policyFile !== undefined) return { config: { path: resolve(policyFile) }, authOn: true };
  const { config, warnings } = loadForCommand(configFile);
  printWarnings(warnings);
  return { config: config.access, authOn: config.auth?.htpasswd !== undefined };
}

/** The policy, with a broken one reported as every problem it has (by line). */
export async function loadPolicy(access: AccessConfig) {
  try {
    const policy = await readAccessPolicy(access);
    printWarnings(policy.warnings);
    return policy;
  } catch (error) {
    if (error instanceof PolicyError) throw new CommandError(`invalid access policy:\n${error.problems.map((p) => `  - ${p}`).join('\n')}`);
    throw new CommandError((error as Error).message);
  }
}

// `registry user add|passwd|rm|list`: edits the htpasswd file the gateway reads (the same
// format as Apache's htpasswd and registry:2). Parsing, hashing and atomic writes live in
// gateway/auth; this file only talks to the person at the keyboard.
import { access, constants, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { assertValidUserName, hashPassword, listUsers, removeUser, setUser, writeHtpasswdFile, type NewHashFormat } from '../../gateway/auth/index.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { promptNewPassword, readPasswordFromStdin } from '../password-input.js';
import { CommandError, CONFIG_HELP, CONFIG_OPTION, parseCommandLine, UsageError, groupHelp } from '../usage.js';

export const DEFAULT_HTPASSWD_FILE = 'auth/htpasswd';
const FORMATS: readonly NewHashFormat[] = ['bcrypt', 'apr1', 'sha256', 'sha512'];
const DEFAULT_COST = 10;

const FILE_HELP = `  -f, --file FILE     the htpasswd file (default: auth.htpasswd.path from the configuration,
                      else ./${DEFAULT_HTPASSWD_FILE})
${CONFIG_HELP}
  -h, --help          show this help`;

const PASSWORD_HELP = `      --password-stdin  read the password from standard input (one trailing newline is dropped)
  -p, --password P    the password on the command line (visible to other users in the process
                      list and kept in shell history: prefer --password-stdin)
      --format F      bcrypt (default; the only format registry:2 accepts), apr1, sha256, sha512
      --cost N        bcrypt cost, 4 to 31 (default ${DEFAULT_COST})`;

const PASSWORD_NOTE = 'Without --password-stdin or --password, the password is asked twice on the terminal.';

const HELP = {
  group: `Usage: registry user <command> [options]

Manage the users in the htpasswd file (the same file format as Apache htpasswd and registry:2).

Commands:
  add <name>      add a user
  passwd <name>   change a user's password
  rm <name>       remove a user
  list            list the users

Run \`registry user <command> --help\` for the options.
`,
  add: `Usage: registry user add <name> [--password-stdin | --password P] [--format F] [--cost N] [--file FILE]

Adds a user to the htpasswd file, creating the file (mode 0600) and its directory if needed.
The gateway picks up the change without a restart.

Options:
${PASSWORD_HELP}
${FILE_HELP}

${PASSWORD_NOTE}
`,
  passwd: `Usage: registry user passwd <name> [--password-stdin | --password P] [--format F] [--cost N] [--file FILE]

Changes the password of an existing user.

Options:
${PASSWORD_HELP}
${FILE_HELP}

${PASSWORD_NOTE}
`,
  rm: `Usage: registry user rm <name> [--file FILE]

Removes a user from the htpasswd file.

Options:
${FILE_HELP}
`,
  list: `Usage: registry user list [--file FILE]

Prints the user names in the htpasswd file, one per line.

Options:
${FILE_HELP}
`,
};

const FILE_OPTIONS = { ...CONFIG_OPTION, file: { type: 'string', short: 'f' } } as const;
const PASSWORD_OPTIONS = {
  ...FILE_OPTIONS,
  'password-stdin': { type: 'boolean' },
  password: { type: 'string', short: 'p' },
  format: { type: 'string' },
  cost: { type: 'string' },
} as const;

export async function userCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
    case 'passwd':
      return setPassword(sub, rest);
    case 'rm':
      return removeCommand(rest);
    case 'list':
      return listCommand(rest);
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      return groupHelp(sub, HELP.group)!;
    default:
      throw new UsageError(`unknown command "user ${sub}"`, 'user');
  }
}

async function setPassword(sub: 'add' | 'passwd', args: string[]): Promise<number> {
  const command = `user ${sub}`;
  const parsed = parseCommandLine(command, args, PASSWORD_OPTIONS, HELP[sub], { min: 1, max: 1, names: 'user name' });
  if (!parsed) return 0;
  const { values } = parsed;
  const user = parsed.positionals[0];
  const format = (values.format ?? 'bcrypt') as NewHashFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`, command);
  let cost = DEFAULT_COST;
  if (values.cost !== undefined) {
    if (format !== 'bcrypt') throw new UsageError('--cost applies to --format bcrypt only', command);
    cost = Number(values.cost);
    if (!/^\d+$/.test(values.cost) || cost < 4 || cost > 31) throw new UsageError(`--cost must be a whole number from 4 to 31, not "${values.cost}"`, command);
  }
  if (values['password-stdin'] && values.password !== undefined) {
    throw new UsageError('give either --password-stdin or --password, not both', command);
  }
  checkUserName(user);

  const file = htpasswdPath(values);
  const text = await readHtpasswd(file, sub === 'add');
  const exists = listUsers(text).includes(user);
  if (sub === 'add' && exists) throw new CommandError(`user "${user}" already exists in ${file} (use \`registry user passwd ${user}\` to change the password)`);
  if (sub === 'passwd' && !exists) throw new CommandError(`no user "${user}" in ${file} (use \`registry user add ${user}\` to add one)`);

  await checkWritable(file);
  const password = await obtainPassword(values['password-stdin'] === true, values.password);
  const hash = await hashPassword(password, format, cost);
  await writeUsers(file, setUser(text, user, hash));
  process.stderr.write(sub === 'add' ? `registry: added user "${user}" to ${file} (${format})\n` : `registry: changed the password of "${user}" in ${file} (${format})\n`);
  if (format !== 'bcrypt') {
    process.stderr.write(`registry: note: registry:2 (distribution) accepts only bcrypt hashes; ${format} works with this registry, Apache and nginx\n`);
  }
  return 0;
}

async function removeCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine('user rm', args, FILE_OPTIONS, HELP.rm, { min: 1, max: 1, names: 'user name' });
  if (!parsed) return 0;
  const user = parsed.positionals[0];
  const file = htpasswdPath(parsed.values);
  const text = await readHtpasswd(file, false);
  if (!listUsers(text).includes(user)) throw new CommandError(`no user "${user}" in ${file}`);
  await writeUsers(file, removeUser(text, user));
  process.stderr.write(`registry: removed user "${user}" from ${file}\n`);
  return 0;
}

async function listCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine('user list', args, FILE_OPTIONS, HELP.list);
  if (!parsed) return 0;
  const text = await readHtpasswd(htpasswdPath(parsed.values), false);
  for (const user of listUsers(text)) process.stdout.write(`${user}\n`);
  return 0;
}

function checkUserName(user: string): void {
  try {
    assertValidUserName(user);
  } catch (error) {
    throw new CommandError(`invalid user name ${JSON.stringify(user)}: ${(error as Error).message}`);
  }
}

/** --file, else the configured auth.htpasswd.path, else ./auth/htpasswd. */
function htpasswdPath(values: { file?: string; config?: string }): string {
  if (values.file !== undefined) return resolve(values.file);
  let loaded;
  try {
    loaded = loadForCommand(values.config);
  } catch (error) {
    if (error instanceof CommandError) throw new CommandError(`${error.message}\n(name the htpasswd file with --file to edit it anyway)`);
    throw error;
  }
  printWarnings(loaded.warnings);
  return loaded.config.auth?.htpasswd?.path ?? resolve(DEFAULT_HTPASSWD_FILE);
}

async function readHtpasswd(file: string, missingIsEmpty: boolean): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CommandError(`cannot read ${file}: ${(error as Error).message}`);
    if (missingIsEmpty) return '';
    throw new CommandError(`${file} does not exist (add a first user with \`registry user add NAME\`)`);
  }
}

/**
 * Refuses before asking for a password when the file cannot be changed: e.g. `docker-compose exec
 * gateway registry user add`, where /auth is mounted read-only (EROFS).
 */
async function checkWritable(file: string): Promise<void> {
  for (const path of [file, dirname(file)]) {
    try {
      await access(path, constants.W_OK);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      throw cannotWrite(file, error);
    }
  }
}

async function writeUsers(file: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeHtpasswdFile(file, text);
  } catch (error) {
    throw cannotWrite(file, error);
  }
}

function cannotWrite(file: string, error: unknown): CommandError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EROFS') {
    return new CommandError(
      `cannot write ${file}: it is on a read-only file system (the gateway of docker-compose.yaml mounts /auth read-only: ` +
        'change users with `docker-compose run --rm users add|passwd|rm NAME` instead)',
    );
  }
  if (code === 'EACCES' || code === 'EPERM') return new CommandError(`cannot write ${file}: permission denied`);
  return new CommandError(`cannot write ${file}: ${(error as Error).message}`);
}

async function obtainPassword(fromStdin: boolean, given: string | undefined): Promise<string> {
  let password: string;
  if (given !== undefined) password = given;
  else if (fromStdin) password = await readPasswordFromStdin();
  else if (process.stdin.isTTY) password = await promptNewPassword();
  else throw new CommandError('no password given: use --password-stdin to read it from standard input, or run in a terminal to be asked');
  if (password === '') throw new CommandError('empty password refused');
  return password;
}

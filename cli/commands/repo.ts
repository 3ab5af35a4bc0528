// `registry repo delete NAME`: deletes a whole repository (tags, manifests, layer links), through
// the running storage process's control socket, or directly on a stopped data directory. The
// blobs are reclaimed by the next `registry gc`. Over HTTP: DELETE /v2/_registry/repositories/NAME.
import { RegistryError } from '../../common/errors.js';
import { assertName } from '../../common/names.js';
import { callControlSocket } from '../../storage/control-socket.js';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { Registry } from '../../storage/registry/registry.js';
import { deleteRepository, type RepositoryDeleteResult } from '../../storage/registry/repository-delete.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { CommandError, CONFIG_HELP, CONFIG_OPTION, parseCommandLine, UsageError } from '../usage.js';

const HELP = `Usage: registry repo delete [--config FILE] NAME

Deletes the repository NAME: every tag and manifest of it; it disappears from the catalog.
Blobs no other repository uses are reclaimed by the next \`registry gc\`. Works on the running
registry (through its storage process) and on a stopped data directory.
Over HTTP, for admins and users with delete on it: DELETE /v2/_registry/repositories/NAME.

Options:
${CONFIG_HELP}
  -h, --help          show this help
`;

export async function repoCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'delete') throw new UsageError(`unknown repo command "${sub}" (known: delete)`, 'repo');
  const parsed = parseCommandLine('repo', rest, CONFIG_OPTION, HELP, { min: 1, max: 1, names: 'NAME' });
  if (!parsed) return 0;
  const name = parsed.positionals[0]!;
  try {
    assertName(name);
  } catch {
    throw new UsageError(`"${name}" is not a repository name`, 'repo');
  }
  const { config, warnings } = loadForCommand(parsed.values.config as string | undefined);
  printWarnings(warnings);
  const root = config.storage.filesystem.rootdirectory;
  let result: RepositoryDeleteResult;
  const online = await callControlSocket(root, 'DELETE', `/repositories/${encodeURIComponent(name)}`);
  if (online) {
    if (online.status !== 202) throw new CommandError(`cannot delete ${name}: ${(online.body as { error?: string }).error ?? `status ${online.status}`}`);
    result = online.body as RepositoryDeleteResult;
  } else {
    try {
      result = await deleteRepository(new Registry(new FilesystemDriver(root)), name);
    } catch (err) {
      if (err instanceof RegistryError) throw new CommandError(`cannot delete ${name}: ${err.message}`);
      throw err;
    }
  }
  process.stdout.write(`deleted repository ${result.repository}: ${result.manifestsDeleted} manifests, ${result.tagsDeleted} tags\n`);
  return 0;
}

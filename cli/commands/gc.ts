// `registry gc`: garbage collection of blobs no manifest references, as registry:2's
// `garbage-collect` (same rules, same data directory), over the configured storage.
import { createLogger } from '../../common/logger.js';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { S3Driver } from '../../storage/driver/s3.js';
import { collectGarbage } from '../../storage/registry/garbage-collector.js';
import { Registry } from '../../storage/registry/registry.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { CONFIG_HELP, CONFIG_OPTION, parseCommandLine } from '../usage.js';

const HELP = `Usage: registry gc [--config FILE] [--dry-run] [--delete-untagged]

Deletes the blobs that no manifest of any repository references, like registry:2's
\`registry garbage-collect\`. Stop the registry first, or put it in read-only mode
(REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED=true): a push during the sweep could lose a blob.

Options:
${CONFIG_HELP}
  -n, --dry-run           only report what would be deleted
  -m, --delete-untagged   also delete manifests that no tag points to (and then their blobs)
  -h, --help              show this help
`;

export async function gcCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine(
    'gc',
    args,
    { ...CONFIG_OPTION, 'dry-run': { type: 'boolean', short: 'n' }, 'delete-untagged': { type: 'boolean', short: 'm' } },
    HELP,
  );
  if (!parsed) return 0;
  const { config, warnings } = loadForCommand(parsed.values.config as string | undefined);
  printWarnings(warnings);
  const root = config.storage.filesystem.rootdirectory;
  // Over a bucket: the same bucket the replicas use (stop pushes meanwhile, as with registry:2).
  const registry = new Registry(config.storage.s3 ? new S3Driver(config.storage.s3) : new FilesystemDriver(root));
  const logger = createLogger('gc', 'warn');
  const dryRun = parsed.values['dry-run'] === true;
  const report = await collectGarbage(registry, { dryRun, deleteUntagged: parsed.values['delete-untagged'] === true }, logger);
  const verb = dryRun ? 'would delete' : 'deleted';
  for (const manifest of report.manifestsDeleted) process.stdout.write(`${verb} manifest ${manifest}\n`);
  for (const blob of report.blobsDeleted) process.stdout.write(`${verb} blob ${blob}\n`);
  process.stdout.write(
    `${report.repositories} repositories, ${report.manifestsKept} manifests kept, ${report.blobsKept} blobs kept; ` +
      `${verb} ${report.manifestsDeleted.length} manifests and ${report.blobsDeleted.length} blobs (${report.bytesFreed} bytes) in ${root}\n`,
  );
  return 0;
}

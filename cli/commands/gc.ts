// `registry gc`: garbage collection. When a storage process serves the data directory, it is
// asked to collect (over its control socket, storage/control-socket.ts) and the report printed:
// the collection then runs online, safe against the pushes it serves. On a stopped data
// directory it runs in this process, like registry:2's `garbage-collect`.
import { createLogger } from '../../common/logger.js';
import { callControlSocket } from '../../storage/control-socket.js';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { S3Driver } from '../../storage/driver/s3.js';
import { collectGarbage, GcAbortedError, type GcProblem, type GcReport } from '../../storage/registry/garbage-collector.js';
import { Registry } from '../../storage/registry/registry.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { CommandError, CONFIG_HELP, CONFIG_OPTION, parseCommandLine } from '../usage.js';

const HELP = `Usage: registry gc [--config FILE] [--dry-run] [--delete-untagged]

Deletes the blobs that no manifest of any repository references, like registry:2's
\`registry garbage-collect\`, and applies the retention rules (storage.maintenance.retention).
If the registry is running on this data directory, the running storage process collects (online:
pushes and pulls go on) and this prints its report; otherwise the collection runs here.
A manifest that cannot be parsed stops the collection before anything is deleted.

Options:
${CONFIG_HELP}
  -n, --dry-run           only report what would be deleted
  -m, --delete-untagged   also delete manifests that no tag reaches (and then their blobs);
                          signatures and SBOMs whose subject is kept stay
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
  const options = { dryRun: parsed.values['dry-run'] === true, deleteUntagged: parsed.values['delete-untagged'] === true };

  let report: GcReport;
  let where: string;
  const online = await callControlSocket(root, 'POST', '/gc', options);
  if (online) {
    const body = online.body as GcReport & { error?: string; problems?: GcProblem[] };
    if (online.status === 409) throw new CommandError(problemsMessage(body.error ?? 'collection stopped', body.problems ?? []));
    if (online.status !== 200) throw new CommandError(`the running registry could not collect: ${body.error ?? `status ${online.status}`}`);
    report = body;
    where = 'by the running registry';
  } else {
    // Over a bucket: the same bucket the replicas use (stop pushes meanwhile, as with registry:2).
    const registry = new Registry(config.storage.s3 ? new S3Driver(config.storage.s3) : new FilesystemDriver(root));
    const logger = createLogger('gc', 'warn');
    try {
      // Nothing serves the directory: no push in flight to protect, so no grace period (as
      // registry:2's garbage-collect).
      report = await collectGarbage(
        registry,
        { ...options, gracePeriodMs: 0, retention: config.storage.maintenance.retention },
        logger,
      );
    } catch (err) {
      if (err instanceof GcAbortedError) throw new CommandError(problemsMessage(err.message, err.problems));
      throw err;
    }
    where = 'in this process (no registry running on it)';
  }
  printReport(report, root, where);
  return 0;
}

function problemsMessage(message: string, problems: GcProblem[]): string {
  const lines = problems.slice(0, 50).map((p) => `  ${p.repository}@${p.digest}: ${p.reason}`);
  return [message.split(': ')[0] ?? message, ...lines, 'fix or delete these manifests (DELETE /v2/<name>/manifests/<digest>), then run gc again'].join('\n');
}

function printReport(report: GcReport, root: string, where: string): void {
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (const tag of report.tagsDeleted) out(`${verb} tag ${tag}`);
  for (const manifest of report.manifestsDeleted) out(`${verb} manifest ${manifest}`);
  for (const blob of report.blobsDeleted) out(`${verb} blob ${blob}`);
  for (const repository of report.repositoriesRemoved) out(`${report.dryRun ? 'would remove' : 'removed'} empty repository ${repository}`);
  out(
    `${report.repositories} repositories, ${report.manifestsKept} manifests kept, ${report.blobsKept} blobs kept` +
      (report.blobsSpared > 0 ? `, ${report.blobsSpared} unreferenced blobs spared (grace period or in use)` : '') +
      `; ${verb} ${report.tagsDeleted.length} tags, ${report.manifestsDeleted.length} manifests and ${report.blobsDeleted.length} blobs ` +
      `(${report.bytesReclaimed} bytes) in ${root}, ${where}; mark ${report.markMs} ms, sweep ${report.sweepMs} ms`,
  );
}

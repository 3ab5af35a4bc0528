// File handoff, the X-Accel-Redirect pattern, as a capability storage offers: when storage's
// driver keeps files on this machine, storage names the directory it allows the gateway to read
// and answers blob downloads with the blob's absolute file path and byte range instead of the
// bytes; the gateway sends the file to the client itself. Storage still decides everything
// (repository, digest, range, status, headers); the gateway only copies bytes, and never builds
// a path or knows the data directory's layout. Relaying a download through the second Node
// process cost more CPU than the download (~0.9 CPU-s per 512 MiB), so pulls through the
// gateway ran at a third of direct ones. When storage does not offer it (S3, storage elsewhere)
// or the gateway cannot read the directory, downloads are proxied like every other request.
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, sep } from 'node:path';
import { copyFileRange } from '../common/file-copy.js';
import { FILE_HANDOFF_PATH_HEADER } from '../common/internal-headers.js';
import type { Logger } from '../common/logger.js';
import { scopeOf } from '../common/v2-scope.js';
import { acceptHandoff, handedOffTarget, writeHandedOffHead } from './handoff-headers.js';

const RECHECK_MS = 10_000;

export interface FileHandoffOptions {
  /** Asks storage which directory it allows the gateway to send files from; undefined: none. */
  askRoot: () => Promise<string | undefined>;
  logger: Logger;
  now?: () => number;
}

/**
 * Whether storage offers file handoff and this process can read the directory storage declared.
 * Asked at first use and again every 10 s while not available (a fresh data directory appears
 * with the first push); turned off when a handed-off file cannot be opened (the gateway sees
 * another directory than storage). The first declared directory is kept: a file outside it is
 * refused, whatever a later answer says.
 */
export class FileHandoff {
  private root: string | undefined;
  private checkedAt = -Infinity;
  private disabled = false;
  private readonly now: () => number;

  constructor(private readonly options: FileHandoffOptions) {
    this.now = options.now ?? Date.now;
  }

  async available(): Promise<boolean> {
    if (this.disabled) return false;
    if (this.root !== undefined) return true;
    if (this.now() - this.checkedAt < RECHECK_MS) return false;
    this.checkedAt = this.now();
    const declared = await this.options.askRoot().catch(() => undefined);
    if (declared === undefined || !isAbsolute(declared)) return false;
    try {
      await fs.access(declared, fsConstants.R_OK | fsConstants.X_OK);
      this.root ??= await fs.realpath(declared);
    } catch {
      return false;
    }
    this.options.logger.info({ root: this.root }, 'blob downloads are sent from the data directory (file handoff)');
    return true;
  }

  /** Whether a file's real path is inside the directory storage declared first. */
  contains(realPath: string): boolean {
    return this.root !== undefined && realPath.startsWith(this.root + sep);
  }

  disable(reason: string): void {
    if (this.disabled) return;
    this.disabled = true;
    this.options.logger.warn({ root: this.root, reason }, 'file handoff turned off: blob downloads are relayed from storage');
  }
}

/** Only blob downloads are handed off (to a file or a URL); everything else is proxied as it is. */
export function wantsHandoff(method: string, path: string): boolean {
  return method === 'GET' && scopeOf(method, path)?.route === 'blob';
}

/** The file storage handed off in this answer, if it did. */
export function handedOffFile(upstream: IncomingMessage): string | undefined {
  return handedOffTarget(upstream, FILE_HANDOFF_PATH_HEADER);
}

/**
 * Answers the client with the file range storage named, with storage's status and headers.
 * Resolves false, having written nothing, when the file cannot be opened: file handoff is then
 * off, and the caller asks storage for the bytes instead.
 */
export async function sendHandedOffFile(
  handoff: FileHandoff,
  upstream: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  onSent: (bytes: number) => void,
): Promise<boolean> {
  const { target: file, range } = acceptHandoff(upstream, FILE_HANDOFF_PATH_HEADER);
  let handle;
  try {
    // Symbolic links resolved first: a link cannot lead outside the declared directory.
    const target = await fs.realpath(file);
    if (!handoff.contains(target) || range === null) {
      logger.error({ file }, 'storage handed off a file outside the directory it declared, or a bad range');
      throw Object.assign(new Error('invalid file handoff'), { code: 'EHANDOFF' });
    }
    handle = await fs.open(target, fsConstants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EHANDOFF') throw err;
    handoff.disable(`cannot open ${file}: ${code ?? String(err)}`);
    return false;
  }
  const length = range ? range.end - range.start + 1 : 0;
  try {
    if ((await handle.stat()).size < (range ? range.end + 1 : 0)) throw new Error(`handed-off file ${file} is too short`);
    writeHandedOffHead(upstream, res, length);
    if (range) await copyFileRange(handle, res, range.start, length);
    onSent(length);
    res.end();
    return true;
  } finally {
    await handle.close();
  }
}

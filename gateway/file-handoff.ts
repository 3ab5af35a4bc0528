// File handoff, the X-Accel-Redirect pattern: when the gateway can read the data directory (the
// default set-up: both processes on one machine), it asks storage to answer blob downloads with
// the blob's file and byte range instead of the bytes, and sends the file to the client itself.
// Storage still decides everything (repository, digest, range, status, headers); the gateway
// only copies bytes. Relaying a download through the second Node process cost more CPU than the
// download (~0.9 CPU-s per 512 MiB), so pulls through the gateway ran at a third of direct ones.
// Without access to the data directory (storage on another host or container) nothing changes.
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { copyFileRange } from '../common/file-copy.js';
import { FILE_HANDOFF_PATH_HEADER, FILE_HANDOFF_RANGE_HEADER } from '../common/internal-headers.js';
import type { Logger } from '../common/logger.js';
import { scopeOf } from '../common/v2-scope.js';


/** Headers of storage's answer that describe the hop, not the blob. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', FILE_HANDOFF_PATH_HEADER, FILE_HANDOFF_RANGE_HEADER]);

const RECHECK_MS = 10_000;

/**
 * Whether this process can read the data directory's registry tree. Checked lazily and again
 * every 10 s while it cannot (a fresh data directory gets its tree with the first push); turned
 * off when a handed-off file cannot be opened (the gateway sees another directory than storage).
 */
export class FileHandoff {
  private readable = false;
  private checkedAt = -Infinity;
  private disabled = false;

  constructor(
    readonly root: string,
    private readonly logger: Logger,
  ) {}

  async available(): Promise<boolean> {
    if (this.disabled) return false;
    if (this.readable || Date.now() - this.checkedAt < RECHECK_MS) return this.readable;
    this.checkedAt = Date.now();
    try {
      await fs.access(join(this.root, 'docker', 'registry', 'v2', 'blobs'), fsConstants.R_OK | fsConstants.X_OK);
      this.readable = true;
      this.logger.info({ root: this.root }, 'blob downloads are sent from the data directory (file handoff)');
    } catch {
      this.readable = false;
    }
    return this.readable;
  }

  disable(reason: string): void {
    if (this.disabled) return;
    this.disabled = true;
    this.logger.warn({ root: this.root, reason }, 'file handoff turned off: blob downloads are relayed from storage');
  }
}

export function wantsFileHandoff(method: string, path: string): boolean {
  // Only blob downloads are handed off; everything else is proxied as it is.
  return method === 'GET' && scopeOf(method, path)?.route === 'blob';
}

/**
 * Answers the client from storage's reply: the named file range when storage handed the file
 * off, otherwise storage's own status, headers and body.
 */
export async function relayOrSendFile(
  handoff: FileHandoff,
  upstream: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  onSent: (bytes: number) => void,
): Promise<void> {
  const file = upstream.headers[FILE_HANDOFF_PATH_HEADER];
  if (typeof file !== 'string') return await relay(upstream, res, onSent);
  upstream.resume(); // the reply has no body; free the upstream connection
  const target = resolveInside(handoff.root, file);
  const range = parseRange(upstream.headers[FILE_HANDOFF_RANGE_HEADER]);
  if (!target || range === null) {
    logger.error({ file }, 'storage handed off a file outside the data directory, or a bad range');
    throw Object.assign(new Error('invalid file handoff'), { code: 'EHANDOFF' });
  }
  const length = range ? range.end - range.start + 1 : 0;
  let handle;
  try {
    handle = await fs.open(target, fsConstants.O_RDONLY);
  } catch (err) {
    handoff.disable(`cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    throw err;
  }
  try {
    if ((await handle.stat()).size < (range ? range.end + 1 : 0)) throw new Error(`handed-off file ${file} is too short`);
    writeHead(res, upstream, length);
    if (range) await copyFileRange(handle, res, range.start, length);
    onSent(length);
    res.end();
  } finally {
    await handle.close();
  }
}

async function relay(upstream: IncomingMessage, res: ServerResponse, onSent: (bytes: number) => void): Promise<void> {
  const declared = upstream.headers['content-length'];
  writeHead(res, upstream, declared === undefined ? undefined : Number(declared));
  let sent = 0;
  upstream.on('data', (chunk: Buffer) => {
    sent += chunk.length;
    onSent(sent);
  });
  await new Promise<void>((resolve, reject) => {
    upstream.once('error', reject);
    res.once('finish', () => resolve());
    res.once('close', () => resolve());
    upstream.pipe(res);
  });
}

function writeHead(res: ServerResponse, upstream: IncomingMessage, length: number | undefined): void {
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name)) res.setHeader(name, value);
  }
  if (length !== undefined) res.setHeader('Content-Length', length);
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage);
}

/** `start-end` (inclusive), undefined when absent (an empty blob), null when malformed. */
function parseRange(header: string | string[] | undefined): { start: number; end: number } | undefined | null {
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? /^(\d+)-(\d+)$/.exec(header) : null;
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return end >= start ? { start, end } : null;
}

/** The absolute path of `relative` under `root`, or undefined if it would leave the root. */
function resolveInside(root: string, relative: string): string | undefined {
  if (isAbsolute(relative) || relative.split('/').includes('..')) return undefined;
  const full = normalize(join(root, relative));
  return full.startsWith(normalize(root) + sep) ? full : undefined;
}

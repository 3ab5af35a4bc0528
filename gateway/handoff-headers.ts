// What file handoff and URL handoff share: which of storage's headers describe the hop rather
// than the blob, and the byte range storage names.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FILE_HANDOFF_PATH_HEADER, HANDOFF_RANGE_HEADER, URL_HANDOFF_HEADER } from '../common/internal-headers.js';

/** Headers of storage's answer that describe the hop, not the blob. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  FILE_HANDOFF_PATH_HEADER,
  URL_HANDOFF_HEADER,
  HANDOFF_RANGE_HEADER,
]);

/** `start-end` (inclusive), undefined when absent (an empty blob), null when malformed. */
export function parseHandoffRange(header: string | string[] | undefined): { start: number; end: number } | undefined | null {
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? /^(\d+)-(\d+)$/.exec(header) : null;
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return end >= start ? { start, end } : null;
}

/** Storage's status and blob headers to the client, for a body of `length` bytes the gateway sends. */
export function writeHandedOffHead(upstream: IncomingMessage, res: ServerResponse, length: number): void {
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name)) res.setHeader(name, value);
  }
  res.setHeader('Content-Length', length);
  res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage);
}

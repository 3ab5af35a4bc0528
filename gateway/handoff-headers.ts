// What file handoff and URL handoff share: how storage's answer names what it handed off and
// the byte range, and which of its headers describe the hop rather than the blob.
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

export type HandoffRange = { start: number; end: number } | undefined | null;

/** The file or URL storage named in `header` instead of sending the bytes, or undefined. */
export function handedOffTarget(upstream: IncomingMessage, header: string): string | undefined {
  const value = upstream.headers[header];
  return typeof value === 'string' ? value : undefined;
}

/** Takes a handed-off answer: frees the upstream connection (it has no body), reads the target and range. */
export function acceptHandoff(upstream: IncomingMessage, header: string): { target: string; range: HandoffRange } {
  upstream.resume();
  return { target: handedOffTarget(upstream, header) ?? '', range: parseHandoffRange(upstream.headers[HANDOFF_RANGE_HEADER]) };
}

/** `start-end` (inclusive), undefined when absent (an empty blob), null when malformed. */
function parseHandoffRange(header: string | string[] | undefined): HandoffRange {
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

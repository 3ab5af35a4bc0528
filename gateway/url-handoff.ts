// URL handoff, file handoff's counterpart for object storage: when storage's driver can sign a
// URL for a blob (S3), storage answers a blob download with that short-lived URL and the byte
// range instead of the bytes, and the gateway fetches the bytes from the bucket itself. Storage
// still decides everything (repository, digest, range, status, headers); the gateway only copies
// bytes. Relayed, every byte crossed two Node processes: ~1.7 CPU-s per 256 MiB in each, and
// pulls ran at less than half of registry:2's over the same bucket.
//
// Unlike storage.redirect, the client never sees the bucket: it needs no route to it, and the
// registry's own TLS, logs and metrics cover the transfer. When the gateway cannot reach the
// bucket (another network), three failed fetches in a row turn URL handoff off; a failed fetch's
// download is relayed.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { URL_HANDOFF_HEADER } from '../common/internal-headers.js';
import type { Logger } from '../common/logger.js';
import { acceptHandoff, handedOffTarget, writeHandedOffHead } from './handoff-headers.js';

/** How long the bucket may take to answer before the download is relayed through storage. */
const CONNECT_TIMEOUT_MS = 10_000;

const POOL = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64 } as const;

/** Failed fetches in a row after which the bucket counts as unreachable from here. */
const FAILURES_TO_DISABLE = 3;

export class UrlHandoff {
  private disabled = false;
  private failuresInARow = 0;
  private announced = false;
  readonly httpAgent = new http.Agent(POOL);
  readonly httpsAgent = new https.Agent(POOL);

  constructor(
    private readonly logger: Logger,
    /** Abort a transfer that moves no byte for this long (the gateway's upstream idle timeout). */
    readonly idleTimeoutMs: number,
  ) {}

  get available(): boolean {
    return !this.disabled;
  }

  /** A fetch failed before any byte reached the client: that request is relayed instead. */
  failed(reason: string): void {
    if (++this.failuresInARow >= FAILURES_TO_DISABLE) this.disable(reason);
  }

  succeeded(url: URL): void {
    this.failuresInARow = 0;
    if (this.announced) return;
    this.announced = true;
    this.logger.info({ bucket: url.origin }, 'blob downloads are fetched from the bucket by the gateway (URL handoff)');
  }

  disable(reason: string): void {
    if (this.disabled) return;
    this.disabled = true;
    this.logger.warn({ reason }, 'URL handoff turned off: blob downloads are relayed from storage');
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** The URL storage handed off in this answer, if it did. */
export function handedOffUrl(upstream: IncomingMessage): string | undefined {
  return handedOffTarget(upstream, URL_HANDOFF_HEADER);
}

/**
 * Answers the client with the byte range storage named, fetched from the URL storage signed,
 * with storage's status and headers. Resolves false, having written nothing, when the bucket
 * cannot be reached or does not answer with exactly that range: URL handoff is then off (a
 * bucket this process cannot reach) or skipped for this request, and the caller asks storage
 * for the bytes instead.
 */
export async function sendHandedOffUrl(
  handoff: UrlHandoff,
  upstream: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  onSent: (bytes: number) => void,
): Promise<boolean> {
  const { target: location, range } = acceptHandoff(upstream, URL_HANDOFF_HEADER);
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    url = new URL('invalid:');
  }
  if (range === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    logger.error('storage handed off a URL that is not http(s), or a bad range');
    throw Object.assign(new Error('invalid URL handoff'), { code: 'EHANDOFF' });
  }

  if (range === undefined) {
    // An empty blob: nothing to fetch.
    writeHandedOffHead(upstream, res, 0);
    res.end();
    onSent(0);
    return true;
  }
  const length = range.end - range.start + 1;
  const bucket = await fetchRange(handoff, url, range).catch((err: Error) => err);
  if (bucket instanceof Error) {
    handoff.failed(`cannot fetch from ${url.origin}: ${(bucket as NodeJS.ErrnoException).code ?? bucket.message}`);
    return false;
  }
  handoff.succeeded(url);
  const answered = Number(bucket.headers['content-length']);
  if ((bucket.statusCode !== 200 && bucket.statusCode !== 206) || answered !== length) {
    // A blob removed since storage looked, or an engine that ignored the range: storage answers.
    logger.warn({ status: bucket.statusCode, length: answered, expected: length }, 'the bucket did not answer the handed-off range; relaying');
    bucket.resume();
    return false;
  }
  writeHandedOffHead(upstream, res, length);
  let sent = 0;
  bucket.on('data', (chunk: Buffer) => {
    sent += chunk.length;
  });
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('close', done);
      bucket.off('end', done);
      bucket.off('error', done);
      if (!bucket.complete || sent !== length) {
        // The bucket failed mid-body: the client sees a short body, never a wrong one.
        logger.warn({ sent, expected: length }, 'the bucket failed during a handed-off download');
        bucket.destroy();
        res.destroy();
      }
      resolve();
    };
    res.once('close', done);
    bucket.once('end', done);
    bucket.once('error', done);
    bucket.pipe(res, { end: false });
  });
  onSent(sent);
  if (!res.destroyed) res.end();
  return true;
}

function fetchRange(handoff: UrlHandoff, url: URL, range: { start: number; end: number }): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, {
      agent: url.protocol === 'https:' ? handoff.httpsAgent : handoff.httpAgent,
      headers: { range: `bytes=${range.start}-${range.end}` },
    });
    // Until the bucket answers, a short wait; then the transfer's own idle timeout.
    request.setTimeout(CONNECT_TIMEOUT_MS, () => request.destroy(Object.assign(new Error('the bucket did not answer in time'), { code: 'ETIMEDOUT' })));
    request.once('error', reject);
    request.once('response', (response) => {
      request.setTimeout(handoff.idleTimeoutMs, () => response.destroy(new Error('the bucket stopped sending')));
      resolve(response);
    });
  });
}

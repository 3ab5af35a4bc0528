// Request-body helpers: storage never buffers blobs, only manifests (bounded).
import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../../common/errors.js';
import { noteBytesReceived } from '../runtime/buffer-reclaim.js';

/**
 * How much of a too-large body is read and discarded before answering 413. Answering before
 * the body is read makes the connection unusable: it must then be closed while the client is
 * still sending, and a client (or the gateway's proxy) that gets a reset before reading the
 * answer reports a failed connection (502) instead of the 413. Past this, the answer closes it.
 */
export const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;

/** Whether the request carries a body (a chunked one, or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a whole small body; 413 past `limit` bytes, answered once the body is read (see above). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const chunks: Buffer[] = [];
  // A declared size over the limit is refused without keeping anything.
  let size = declared > limit ? declared : 0;
  await consume(req, (chunk) => {
    noteBytesReceived(chunk.length);
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    return size <= limit + MAX_DISCARDED_BYTES;
  });
  if (size > limit) throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, undefined, { status: 413 });
  return Buffer.concat(chunks);
}

/**
 * Feeds the body to `take` until it ends, fails, or `take` returns false (then reading pauses:
 * the error answer closes the connection). Unlike an async iterator, stopping early does not
 * destroy the socket the answer must go out on.
 */
async function consume(req: IncomingMessage, take: (chunk: Buffer) => boolean): Promise<void> {
  if (req.readableEnded) return;
  await new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', finish);
      req.off('close', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onEnd = () => finish(req.readableEnded ? undefined : Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const onData = (chunk: Buffer) => {
      if (!take(chunk)) {
        req.pause();
        finish();
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', finish);
    req.on('close', onEnd);
  });
}

// Request-body helpers: storage never buffers blobs, only manifests (bounded, with raw-body).
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { RegistryError } from '../../common/errors.js';
import { noteBytesReceived } from '../../common/buffer-reclaim.js';

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
  try {
    const body = await getRawBody(req, { limit, length: req.headers['content-length'] });
    noteBytesReceived(body.length);
    return body;
  } catch (err) {
    if ((err as getRawBody.RawBodyError).type !== 'entity.too.large') throw err;
    await discardRest(req);
    throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, undefined, { status: 413 });
  }
}

/**
 * Reads and drops the rest of a refused body, up to MAX_DISCARDED_BYTES; past that it stops
 * reading, and the answer closes the connection (Node does when the body is unread).
 */
async function discardRest(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || Number(req.headers['content-length'] ?? 0) > MAX_DISCARDED_BYTES) return;
  await new Promise<void>((resolve) => {
    let discarded = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > MAX_DISCARDED_BYTES) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
    req.resume();
  });
}

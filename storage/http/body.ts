// Request-body helpers: storage never buffers blobs, only manifests (bounded, with raw-body).
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
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
  try {
    const body = await getRawBody(req, { limit, length: req.headers['content-length'] });
    noteBytesReceived(body.length);
    return body;
  } catch (err) {
    if ((err as getRawBody.RawBodyError).type !== 'entity.too.large') throw err;
    discardRest(req);
    throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, undefined, { status: 413 });
  }
}

/** Reads and drops the rest of a refused body (see MAX_DISCARDED_BYTES); past it, closes the connection. */
function discardRest(req: IncomingMessage): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARDED_BYTES) req.socket.destroy();
  });
  req.resume();
}

// Request-body helpers: storage never buffers blobs, only manifests (bounded, with raw-body).
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { RegistryError } from '../../common/errors.js';

/** Whether the request carries a body (a chunked one, or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a whole small body; 413 past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(req, { limit, length: req.headers['content-length'] });
  } catch (err) {
    if ((err as getRawBody.RawBodyError).type !== 'entity.too.large') throw err;
    // Keep draining (not destroying) so the client still reads the 413.
    req.resume();
    throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, undefined, { status: 413 });
  }
}

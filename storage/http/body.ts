// Request-body helpers: storage never buffers blobs, only manifests (bounded).
import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../../common/errors.js';

/** Whether the request carries a body (a chunked one, or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a whole small body; 413 past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, undefined, { status: 413 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // Past the limit, keep draining (not destroying) so the client still reads the 413.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, undefined, { status: 413 });
  return Buffer.concat(chunks);
}

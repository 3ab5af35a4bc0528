// Request-body helpers: storage never buffers blobs, only manifests (bounded, with raw-body).
import type { IncomingMessage, ServerResponse } from 'node:http';
import getRawBody from 'raw-body';
import { MAX_DRAINED_BYTES } from '../../common/drain-limit.js';
import { RegistryError } from '../../common/errors.js';
import { noteBytesReceived } from '../../common/buffer-reclaim.js';

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
 * Reads and drops the rest of a refused body, up to MAX_DRAINED_BYTES; past that it stops
 * reading, and the answer closes the connection (Node does when the body is unread).
 */
async function discardRest(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || Number(req.headers['content-length'] ?? 0) > MAX_DRAINED_BYTES) return;
  await discardBody(req, MAX_DRAINED_BYTES);
}

/**
 * Reads and drops what is left of a request body, at most `maxBytes`; resolves true when the body
 * ended, false when it stopped at the limit (or the request went away).
 */
export function discardBody(req: IncomingMessage, maxBytes: number): Promise<boolean> {
  if (req.complete && req.readableEnded) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let discarded = 0;
    const done = (ended: boolean): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > maxBytes) {
        req.pause();
        done(false);
      }
    };
    const onEnd = (): void => done(true);
    const onClose = (): void => done(req.complete);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
    req.resume();
  });
}

/**
 * After an answer given before the request body was read (an error, say): reads and drops the rest
 * of the body, so the connection stays usable, and closes it past MAX_DRAINED_BYTES. Closing
 * right away, with unread bytes, makes the kernel reset the connection, and the gateway, still
 * sending the body, could see the reset before the answer and report 502 for what was a 404.
 */
export function discardAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  res.once('finish', () => {
    void discardBody(req, MAX_DRAINED_BYTES).then((ended) => {
      if (!ended) req.socket.destroy();
    });
  });
}

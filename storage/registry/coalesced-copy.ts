// Copies a request body into a file writer in few, large writes. A client may send a body as a
// million 1-byte chunks (chunked encoding); handing each to the hash and the file stream costs
// tens of microseconds, a minute of CPU per MiB for everybody. Small chunks are gathered until
// the socket read that brought them has been parsed (setImmediate runs after it) or 1 MiB is
// waiting, then hashed and written as one buffer; big chunks pass through uncopied.
import type { Readable, Writable } from 'node:stream';

const PASS_THROUGH_BYTES = 64 * 1024;
const MAX_PENDING_BYTES = 1024 * 1024;

/**
 * Streams `source` into `dest` with backpressure; `onBytes` sees every buffer before it is
 * written. Bytes that arrived are written even when the source fails (an interrupted PATCH keeps
 * what it received); `dest` is ended then, and the source's error is thrown.
 */
export function copyCoalesced(source: Readable, dest: Writable, onBytes: (bytes: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let scheduled = false;
    let settled = false;

    const write = (bytes: Buffer) => {
      onBytes(bytes);
      if (!dest.write(bytes) && !source.isPaused()) {
        source.pause();
        dest.once('drain', () => source.resume());
      }
    };
    const flush = () => {
      scheduled = false;
      if (pendingBytes === 0 || settled) return;
      const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      write(bytes);
    };
    const cleanup = () => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onSourceError);
      source.off('close', onClose);
      dest.off('error', onDestError);
    };
    const finishDest = (err?: Error) => {
      flush();
      settled = true;
      cleanup();
      dest.end(() => (err ? reject(err) : resolve()));
    };
    const onData = (chunk: Buffer) => {
      if (chunk.length >= PASS_THROUGH_BYTES && pendingBytes === 0) {
        write(chunk);
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= MAX_PENDING_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    };
    const onEnd = () => finishDest();
    const onSourceError = (err: Error) => finishDest(err);
    const onClose = () => {
      if (!settled) finishDest(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    };
    const onDestError = (err: Error) => {
      settled = true;
      cleanup();
      // What the client still sends is read and dropped, so that the error can be answered.
      source.on('error', () => undefined);
      source.resume();
      reject(err);
    };

    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onSourceError);
    source.on('close', onClose);
    dest.on('error', onDestError);
    if (source.readableEnded) onEnd();
  });
}

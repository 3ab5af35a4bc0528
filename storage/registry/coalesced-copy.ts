// Copies a request body into a file writer in few, large writes. A client may send a body as a
// million 1-byte chunks (chunked encoding); handing each to the hash and the file stream costs
// tens of microseconds, a minute of CPU per MiB for everybody. Small chunks are copied into one
// buffer until the socket read that brought them has been parsed (setImmediate runs after it)
// or the buffer is full, then hashed and written at once; chunks of 16 KiB and more pass through
// uncopied (per chunk, the hash and the write cost nothing next to their bytes).
// Copying (not keeping a list of chunks) lets each tiny chunk object die young: kept until the
// flush, millions of them outlived a minor GC and bloated the old generation by hundreds of MiB.
// A flush hands the writer only the filled part of the gather buffer and the next small chunks
// fill the rest of it: a fresh 256 KiB buffer per socket read (the gateway's chunked framing
// splits nearly every read into a big and a small chunk) made storage allocate and collect four
// bytes for each byte pushed, and its CPU per GiB pushed rose by half.
import type { Readable, Writable } from 'node:stream';

const PASS_THROUGH_BYTES = 16 * 1024;
const GATHER_BYTES = 256 * 1024;

/**
 * Streams `source` into `dest` with backpressure; `onBytes` sees every buffer before it is
 * written. Bytes that arrived are written even when the source fails (an interrupted PATCH keeps
 * what it received); `dest` is ended then, and the source's error is thrown.
 */
export function copyCoalesced(source: Readable, dest: Writable, onBytes: (bytes: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let gathered: Buffer | undefined;
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
      if (pendingBytes === 0 || settled || !gathered) return;
      const bytes = gathered.subarray(0, pendingBytes);
      // The writer owns the filled part now; the next chunks go after it.
      gathered = gathered.length - pendingBytes >= PASS_THROUGH_BYTES ? gathered.subarray(pendingBytes) : undefined;
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
      if (gathered && pendingBytes + chunk.length > gathered.length) flush();
      if (chunk.length >= PASS_THROUGH_BYTES) {
        flush();
        write(chunk);
        return;
      }
      gathered ??= Buffer.allocUnsafe(GATHER_BYTES);
      chunk.copy(gathered, pendingBytes);
      pendingBytes += chunk.length;
      if (!scheduled) {
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

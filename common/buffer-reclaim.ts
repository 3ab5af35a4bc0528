// Keeps both processes small while big bodies pass through them. Every socket read hands the
// body a fresh 64 KiB buffer; V8 frees spent buffers only at its next garbage collection, which
// it schedules by heap growth, or once ~64 MiB of them are held outside the heap, so that much
// piled up during a large upload (storage: ~30 MiB during a 1 GiB push; the gateway, which
// relays every byte, 55 -> ~100 MiB of RSS during a 256 MiB push). A minor GC (tens of µs to a
// few ms) after every 4 MiB received frees them: storage's peak went from ~110 to ~89 MiB on a
// 1 GiB push with a GC every 16 MiB, and from ~110 to ~93 MiB on a 256 MiB push with every 4.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const RECLAIM_EVERY_BYTES = 4 * 1024 * 1024;

type GcFunction = (options?: { type: 'minor' | 'major' }) => void;

function loadGc(): GcFunction | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as GcFunction;
  } catch {
    return undefined; // a runtime without the flag: memory is still bounded, just higher
  }
}

const gc = loadGc();
let received = 0;

/** Counts bytes received in request bodies; runs a minor GC every 4 MiB. */
export function noteBytesReceived(bytes: number): void {
  received += bytes;
  if (received < RECLAIM_EVERY_BYTES) return;
  received = 0;
  gc?.({ type: 'minor' });
}

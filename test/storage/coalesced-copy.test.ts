// copyCoalesced: the bytes arrive in order whatever the chunk sizes, and small chunks share one
// gather buffer across flushes instead of taking a fresh 256 KiB buffer per socket read (what
// made storage allocate four bytes per byte pushed through the gateway's chunked framing).
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { copyCoalesced } from '../../storage/registry/coalesced-copy.js';

test('big and small chunks in turn: every byte in order, small ones gathered into few buffers', async (t) => {
  const source = new PassThrough();
  const written: Buffer[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  const seen: Buffer[] = [];
  const copying = copyCoalesced(source, dest, (bytes) => seen.push(bytes));
  const sent: Buffer[] = [];
  // As the gateway's chunked framing splits socket reads: a big chunk and a small one, each
  // read parsed in its own turn of the event loop.
  for (let i = 0; i < 200; i++) {
    for (const size of [60 * 1024, 4 * 1024 + (i % 7), 1]) {
      const chunk = randomBytes(size);
      sent.push(chunk);
      source.write(chunk);
    }
    await nextTurn();
  }
  source.end();
  await copying;
  t.true(Buffer.concat(written).equals(Buffer.concat(sent)));
  t.is(seen.length, written.length);
  const small = written.filter((chunk) => chunk.length < 16 * 1024);
  const buffers = new Set(small.map((chunk) => chunk.buffer));
  // ~820 KiB of small chunks: four 256 KiB gather buffers, not one per flush.
  t.true(small.length >= 100, `${small.length} small writes`);
  t.true(buffers.size <= 5, `${buffers.size} gather buffers for ${small.length} small writes`);
});

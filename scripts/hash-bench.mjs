// sha256 speed: Node crypto (OpenSSL) against hash-wasm (state can be saved), 256 MiB in 1 MiB updates.
// node scripts/hash-bench.mjs   (docs/scaling.md)
import { createHash, randomBytes } from 'node:crypto';
import { createSHA256 } from 'hash-wasm';
const buf = randomBytes(1 << 20); const N = 256;
let t = process.hrtime.bigint(); let h = createHash('sha256'); for (let i=0;i<N;i++) h.update(buf); h.digest('hex');
const node = Number(process.hrtime.bigint()-t)/1e6;
const w = await createSHA256(); t = process.hrtime.bigint(); w.init(); for (let i=0;i<N;i++) w.update(buf); const d=w.digest('hex');
const wasm = Number(process.hrtime.bigint()-t)/1e6;
w.init(); w.update(buf); t = process.hrtime.bigint(); let st; for (let i=0;i<1000;i++){ st = w.save(); w.load(st);} const sl = Number(process.hrtime.bigint()-t)/1e6;
console.log(`256 MiB: node crypto ${node.toFixed(0)} ms (${(256000/node).toFixed(0)} MiB/s), hash-wasm ${wasm.toFixed(0)} ms (${(256000/wasm).toFixed(0)} MiB/s); save+load x1000 ${sl.toFixed(1)} ms, state ${st.length} bytes`);

// The fuzzer in quick mode (CI): a few thousand hostile requests. Fails on any finding; the seed
// is in the log (`HARNESS_SEED=N` replays it; `npm run harness:fuzz -- --seed N --case I` one case).
import test from 'ava';
import { QUICK_FUZZ, runFuzzer } from './fuzz.js';
import { seedFrom } from './prng.js';

test('fuzzer (quick): hostile requests get no 5xx, no hang, no bypass, no spoofed Location, no stray file', async (t) => {
  t.timeout(240_000);
  const seed = seedFrom(process.env.HARNESS_SEED);
  t.log(`seed ${seed}`);
  const report = await runFuzzer({ ...QUICK_FUZZ, seed, log: (line) => t.log(line) });
  t.log(`${report.requests} requests in ${report.cases} cases, ${Math.round(report.durationMs / 1000)} s; statuses ${JSON.stringify(report.statuses)}`);
  const summary = report.findings.map((g) => `[${g.category}] ${g.signature} (x${g.count})\n  ${g.reproducers[0]?.slice(0, 800)}`);
  t.deepEqual(summary, [], `seed ${seed}; data kept in ${report.dir}`);
});

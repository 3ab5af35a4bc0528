// The crash harness in quick mode (CI): a few kills with small layers. Fails on any finding; the
// seed is in the log (`HARNESS_SEED=N` replays it, `npm run harness:crash` is the long mode).
import test from 'ava';
import { QUICK_CRASH, runCrashHarness } from './crash.js';
import { seedFrom } from './prng.js';

test('crash harness (quick): acknowledged images survive SIGKILLs of gateway, storage and parent', async (t) => {
  t.timeout(240_000);
  const seed = seedFrom(process.env.HARNESS_SEED);
  t.log(`seed ${seed}`);
  const report = await runCrashHarness({ ...QUICK_CRASH, seed, log: (line) => t.log(line) });
  t.log(`${report.acknowledged} images acknowledged in ${report.pushAttempts} attempts, ${report.requests} requests, ${Math.round(report.durationMs / 1000)} s; kills ${JSON.stringify(report.kills)}`);
  for (const note of report.notes) t.log(`note: ${note}`);
  t.true(report.acknowledged > 0, 'the pushers got images through');
  t.deepEqual(report.findings, [], `seed ${seed}; data kept in ${report.dir}`);
});

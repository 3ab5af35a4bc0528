// `npm run harness:crash -- --kills 200`: the crash harness's long mode, by hand. Prints the seed
// first (`--seed N` replays the same kill schedule and images), one line per kill, then a summary;
// exits 1 on any finding.
import { parseArgs } from 'node:util';
import { LONG_CRASH, runCrashHarness } from './crash.js';
import { seedFrom } from './prng.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    kills: { type: 'string' },
    'http-pushers': { type: 'string' },
    'skopeo-pushers': { type: 'string' },
    'max-layer-mib': { type: 'string' },
    'min-up-ms': { type: 'string' },
    'max-up-ms': { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run harness:crash -- [--kills ${LONG_CRASH.kills}] [--seed N] [--http-pushers ${LONG_CRASH.httpPushers}]
  [--skopeo-pushers ${LONG_CRASH.skopeoPushers}] [--max-layer-mib ${LONG_CRASH.maxLayerMiB}] [--min-up-ms ${LONG_CRASH.minUpMs}] [--max-up-ms ${LONG_CRASH.maxUpMs}] [--keep]
`);
  process.exit(0);
}

const number = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
const seed = seedFrom(values.seed ?? process.env.HARNESS_SEED);
// The first Ctrl-C ends the kills and runs the final checks; a second one exits at once.
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stdout.write('stopping after this kill; final checks follow (Ctrl-C again to abort)\n');
});
const report = await runCrashHarness({
  ...LONG_CRASH,
  seed,
  kills: number(values.kills, LONG_CRASH.kills),
  httpPushers: number(values['http-pushers'], LONG_CRASH.httpPushers),
  skopeoPushers: number(values['skopeo-pushers'], LONG_CRASH.skopeoPushers),
  maxLayerMiB: number(values['max-layer-mib'], LONG_CRASH.maxLayerMiB),
  minUpMs: number(values['min-up-ms'], LONG_CRASH.minUpMs),
  maxUpMs: number(values['max-up-ms'], LONG_CRASH.maxUpMs),
  keep: values.keep ?? false,
  log: (line) => process.stdout.write(`${line}\n`),
  stopRequested: () => interrupted,
});
const { findings, notes, ...figures } = report;
process.stdout.write(`\n${JSON.stringify(figures, null, 2)}\n`);
for (const note of notes) process.stdout.write(`note: ${note}\n`);
process.stdout.write(`${findings.length} finding(s); seed ${seed}${findings.length > 0 ? `; data kept in ${report.dir}` : ''}\n`);
process.exit(findings.length > 0 ? 1 : 0);

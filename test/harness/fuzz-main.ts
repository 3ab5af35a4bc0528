// `npm run harness:fuzz -- --requests 50000`: the fuzzer's long mode, by hand. Prints the seed
// first; `--seed S --case I` replays one case. Exits 1 on any finding.
import { parseArgs } from 'node:util';
import { LONG_FUZZ, runFuzzer } from './fuzz.js';
import { seedFrom } from './prng.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    case: { type: 'string' },
    'no-idle-probe': { type: 'boolean' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run harness:fuzz -- [--requests ${LONG_FUZZ.requests}] [--seed N] [--case I] [--concurrency ${LONG_FUZZ.concurrency}] [--no-idle-probe] [--keep]\n`);
  process.exit(0);
}

const seed = seedFrom(values.seed ?? process.env.HARNESS_SEED);
// The first Ctrl-C stops sending and runs the final checks; a second one exits at once.
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stdout.write('stopping; final checks follow (Ctrl-C again to abort)\n');
});
const report = await runFuzzer({
  ...LONG_FUZZ,
  seed,
  requests: values.requests === undefined ? LONG_FUZZ.requests : Number(values.requests),
  concurrency: values.concurrency === undefined ? LONG_FUZZ.concurrency : Number(values.concurrency),
  onlyCase: values.case === undefined ? undefined : Number(values.case),
  idleProbe: values.case === undefined && !values['no-idle-probe'],
  keep: values.keep ?? false,
  log: (line) => process.stdout.write(`${line}\n`),
  stopRequested: () => interrupted,
});
process.stdout.write(`\n${report.requests} requests in ${report.cases} cases, ${Math.round(report.durationMs / 1000)} s; statuses ${JSON.stringify(report.statuses)}\n`);
for (const group of report.findings) {
  process.stdout.write(`\n[${group.category}] ${group.signature} (x${group.count})\n`);
  for (const reproducer of group.reproducers) process.stdout.write(`  ${reproducer.slice(0, 1500)}\n`);
}
process.stdout.write(`\n${report.findings.length} finding(s); seed ${seed}${report.findings.length > 0 ? `; data kept in ${report.dir}` : ''}\n`);
process.exit(report.findings.length > 0 ? 1 : 0);

#!/usr/bin/env node
// Peak memory of the registry's two processes under a load: runs a command (the fuzzer,
// scripts/bench.sh, anything that starts `registry start` below it), watches its process tree,
// and prints each gateway's and storage's peak RSS (VmHWM from /proc/<pid>/status, the kernel's
// exact high-water mark, read until the process exits).
//
//   node scripts/peak-rss.mjs [--trace] -- node dist/test/harness/fuzz-main.js --requests 3000
//   node scripts/peak-rss.mjs [--trace] -- bash scripts/bench.sh --rounds 1 --size-mib 256
//   node scripts/peak-rss.mjs --pid PID -- node scripts/hostile-manifests.mjs --url URL ...
//
// --pid PID watches the processes below PID (a `registry start` already running) instead of
// below the command, which is then only the load.
// --trace prints a line on stderr each time a process's peak grows by 4 MiB or more, with the
// seconds since start, to tell which phase of the load made it grow. The exit status is the
// command's. Linux only.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let trace = false;
let watched;
while (args[0] === '--trace' || args[0] === '--pid') {
  if (args.shift() === '--trace') trace = true;
  else watched = Number(args.shift());
}
if (args[0] === '--') args.shift();
if (args.length === 0) {
  process.stderr.write('usage: node scripts/peak-rss.mjs [--trace] [--pid PID] -- COMMAND [ARGS...]\n');
  process.exit(2);
}

const ROLE = /\bmain\.js (gateway|storage)\b/;
const started = Date.now();
/** pid -> { role, hwmKiB } */
const seen = new Map();

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
}

function descendantsOf(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function sample(root) {
  for (const pid of descendantsOf(root)) {
    let entry = seen.get(pid);
    if (!entry) {
      const argv = read(`/proc/${pid}/cmdline`)?.split('\0');
      // Only node processes (not, say, a `pgrep -f "main.js gateway"` that names them).
      const role = argv && /(^|\/)node$/.test(argv[0]) && ROLE.exec(argv.join(' '))?.[1];
      if (!role) continue;
      entry = { role, hwmKiB: 0, reported: 0 };
      seen.set(pid, entry);
    }
    const status = read(`/proc/${pid}/status`);
    const hwm = status && /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!hwm) continue;
    entry.hwmKiB = Math.max(entry.hwmKiB, Number(hwm[1]));
    if (trace && entry.hwmKiB - entry.reported >= 4096) {
      entry.reported = entry.hwmKiB;
      process.stderr.write(`[peak-rss] ${((Date.now() - started) / 1000).toFixed(1)}s ${entry.role} ${pid} ${mib(entry.hwmKiB)} MiB\n`);
    }
  }
}

const mib = (kib) => (kib / 1024).toFixed(1);

const child = spawn(args[0], args.slice(1), { stdio: 'inherit' });
const timer = setInterval(() => sample(watched ?? child.pid), 100);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  clearInterval(timer);
  const lines = [...seen.entries()].map(([pid, e]) => `  ${e.role.padEnd(8)} pid ${pid}: peak RSS (VmHWM) ${mib(e.hwmKiB)} MiB`);
  const peak = (role) => Math.max(0, ...[...seen.values()].filter((e) => e.role === role).map((e) => e.hwmKiB));
  process.stdout.write(
    `\npeak-rss (${Math.round((Date.now() - started) / 1000)} s): ${args.join(' ')}\n${lines.join('\n') || '  no gateway or storage process seen'}\n` +
      `  max: gateway ${mib(peak('gateway'))} MiB, storage ${mib(peak('storage'))} MiB\n`,
  );
  process.exit(code ?? (signal ? 128 : 1));
});

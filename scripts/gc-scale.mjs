#!/usr/bin/env node
// Measures a data directory made by scripts/make-scale-data.mjs (issue 10): starts `registry
// storage` on it, times `/v2/_catalog?n=100` paging and `tags/list` (p50, p90), then has the
// running storage collect (`registry gc --dry-run`, then `registry gc --delete-untagged`, over
// the control socket) and prints the reports' mark/sweep durations and storage's peak RSS
// (VmHWM, the kernel's high-water mark of the whole process).
//
//   npm run build && node scripts/gc-scale.mjs --root /tmp/scale [--pages 50] [--repos 200]
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: { root: { type: 'string' }, pages: { type: 'string', default: '50' }, repos: { type: 'string', default: '200' }, 'no-delete': { type: 'boolean' } },
});
if (!values.root) {
  process.stderr.write('usage: node scripts/gc-scale.mjs --root DIR [--pages 50] [--repos 200] [--no-delete]\n');
  process.exit(2);
}
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const token = randomBytes(24).toString('base64url');
const env = {
  ...process.env,
  REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: values.root,
  REGISTRY_STORAGESERVICE_ADDR: '127.0.0.1:0',
  REGISTRY_STORAGESERVICE_TOKEN: token,
  REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false',
  REGISTRY_STORAGE_MAINTENANCE_GC_GRACEPERIOD: '0s',
  REGISTRY_LOG_LEVEL: 'info',
};
// As `registry start` runs storage (its heap and malloc settings, from the same code).
const { nodeFlags, storageEnvironment } = await import(new URL('../dist/cli/commands/start.js', import.meta.url).href);
const storage = spawn(process.execPath, [...nodeFlags('storage'), CLI, 'storage'], {
  env: { ...storageEnvironment(), ...env },
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => storage.kill('SIGTERM')); // also when a step below fails
const url = await new Promise((resolve, reject) => {
  let buffered = '';
  storage.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (const line of buffered.split('\n')) {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'storage listening') resolve(entry.url);
      } catch {}
    }
  });
  storage.on('exit', (code) => reject(new Error(`storage exited with ${code}`)));
});
storage.stdout.resume();
const headers = { 'x-registry-internal-token': token };
const statusMiB = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${storage.pid}/status`, 'utf8'))[1]) / 1024;
const hwmMiB = () => statusMiB('VmHWM');
console.log(`storage RSS once listening: ${statusMiB('VmRSS').toFixed(0)} MiB`);

async function timed(path) {
  const started = process.hrtime.bigint();
  const res = await fetch(`${url}${path}`, { headers });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body}`);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, res, body };
}
const pct = (list, p) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * p))];
const fmt = (list) => `p50 ${pct(list, 0.5).toFixed(1)} ms, p90 ${pct(list, 0.9).toFixed(1)} ms (${list.length} requests)`;

// Catalog paging, n=100, following Link.
const catalogMs = [];
const names = [];
const FIRST = '/v2/_catalog?n=100';
await timed(FIRST); // warm-up, not counted
let next = FIRST;
for (let page = 0; page < Number(values.pages); page++) {
  const { ms, res, body } = await timed(next);
  catalogMs.push(ms);
  if (next === FIRST && names.length > 0) names.length = 0;
  names.push(...JSON.parse(body).repositories);
  const link = res.headers.get('link');
  // Past the last page, start again from the first (a small registry has only one).
  next = link ? /<([^>]+)>/.exec(link)[1].replace(/^https?:\/\/[^/]+/, '') : FIRST;
}
const tagsMs = [];
const step = Math.max(1, Math.floor(names.length / Number(values.repos)));
for (let i = 0; i < names.length; i += step) tagsMs.push((await timed(`/v2/${names[i]}/tags/list`)).ms);
console.log(`catalog ?n=100: ${fmt(catalogMs)}; tags/list: ${fmt(tagsMs)}; storage peak RSS so far ${hwmMiB().toFixed(0)} MiB`);

const run = promisify(execFile);
for (const flags of values['no-delete'] ? [['--dry-run']] : [['--dry-run'], ['--delete-untagged']]) {
  const started = Date.now();
  const { stdout } = await run(process.execPath, [CLI, 'gc', ...flags], { env, maxBuffer: 1 << 30 });
  const summary = stdout.trim().split('\n').at(-1);
  console.log(`registry gc ${flags.join(' ')}: ${Date.now() - started} ms wall; ${summary}`);
  console.log(`storage peak RSS after it: ${hwmMiB().toFixed(0)} MiB`);
}
storage.kill('SIGTERM');
await new Promise((resolve) => storage.on('exit', resolve));

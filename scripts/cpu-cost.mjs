#!/usr/bin/env node
// CPU seconds the gateway and storage spend per GiB pushed through the gateway: a measure of cost
// that, unlike throughput, holds on a machine other people load too (it counts only our own
// processes' user+sys time, from /proc/<pid>/stat). Also counts minor page faults and context
// switches, which do not depend on the machine's load at all.
//
// Usage: node scripts/cpu-cost.mjs [--dist DIR] [--size-mib 512] [--runs 3] [--mode patch|put|both]
//   --dist   the built tree to run (default: this checkout's dist/), e.g. an old commit's worktree
//   --mode   patch: POST, one streamed PATCH (chunked transfer encoding, as docker and regbench's
//            push-large send it), PUT ?digest=; put: one monolithic PUT with Content-Length
// Prints one line per run and the median per mode. No authentication (one bcrypt check per
// request would not be a cost per byte anyway).
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: fileURLToPath(new URL('../dist', import.meta.url)) },
    'size-mib': { type: 'string', default: '512' },
    runs: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'both' },
  },
});
const MiB = 1024 * 1024;
const size = Number(values['size-mib']) * MiB;
const runs = Number(values.runs);
const modes = values.mode === 'both' ? ['patch', 'put'] : [values.mode];
const CLK_TCK = 100;

const freePort = () =>
  new Promise((done) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });

function procStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): minflt is field 10, utime 14, stime 15.
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const switches = [...status.matchAll(/ctxt_switches:\s+(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { ticks: Number(fields[11]) + Number(fields[12]), sys: Number(fields[12]), minflt: Number(fields[7]), switches };
}
const children = (pid) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
function sample(pids) {
  const total = { ticks: 0, sys: 0, minflt: 0, switches: 0 };
  for (const pid of pids) {
    const s = procStat(pid);
    total.ticks += s.ticks;
    total.sys += s.sys;
    total.minflt += s.minflt;
    total.switches += s.switches;
    total[serviceOf(pid)] = s.ticks;
  }
  return total;
}
const serviceOf = (pid) => (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('\0gateway\0') ? 'gateway' : 'storage');

function keystream(seed) {
  const key = createHash('sha256').update(`k${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
}
const ZERO = Buffer.alloc(MiB);
function digestOf(seed) {
  const ks = keystream(seed);
  const hash = createHash('sha256');
  for (let left = size; left > 0; left -= MiB) hash.update(ks.update(ZERO.subarray(0, Math.min(MiB, left))));
  return `sha256:${hash.digest('hex')}`;
}

function request(base, method, path, { headers = {}, seed } = {}) {
  return new Promise((done, fail) => {
    const req = http.request(new URL(path, base), { method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => done(res));
    });
    req.on('error', fail);
    if (seed === undefined) return void req.end();
    const ks = keystream(seed);
    let left = size;
    const write = () => {
      while (left > 0) {
        const n = Math.min(MiB, left);
        left -= n;
        if (!req.write(ks.update(ZERO.subarray(0, n)))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}
const expect = (res, status, what) => {
  if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode}, expected ${status}`);
  return res;
};

async function push(base, mode, seed, digest) {
  const repo = 'cpu/cost';
  let res = expect(await request(base, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } }), 202, 'POST');
  let location = res.headers.location;
  const withDigest = (loc) => `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`;
  if (mode === 'patch') {
    res = expect(await request(base, 'PATCH', location, { headers: { 'content-type': 'application/octet-stream' }, seed }), 202, 'PATCH');
    location = res.headers.location;
    expect(await request(base, 'PUT', withDigest(location), { headers: { 'content-length': '0' } }), 201, 'PUT');
  } else {
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
    expect(await request(base, 'PUT', withDigest(location), { headers, seed }), 201, 'PUT');
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = mkdtempSync(join(tmpdir(), 'cpu-cost-'));
const [gatewayPort, storagePort] = [await freePort(), await freePort()];
const registry = spawn(process.execPath, [join(resolve(values.dist), 'cli/main.js'), 'start'], {
  env: {
    ...process.env,
    REGISTRY_HTTP_ADDR: `127.0.0.1:${gatewayPort}`,
    REGISTRY_STORAGESERVICE_ADDR: `127.0.0.1:${storagePort}`,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(work, 'data'),
    REGISTRY_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${gatewayPort}`;
try {
  for (let i = 0; ; i++) {
    const up = await request(base, 'GET', '/v2/').then(() => true, () => false);
    if (up) break;
    if (i > 1200) throw new Error('the registry did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const pids = children(registry.pid);
  if (pids.length !== 2) throw new Error(`expected 2 children of registry start, found ${pids.length}`);
  const results = Object.fromEntries(modes.map((m) => [m, []]));
  // One untimed push first, so both processes have compiled their hot paths.
  const warm = randomBytes(6).toString('hex');
  await push(base, modes[0], warm, digestOf(warm));
  for (let run = 0; run < runs; run++) {
    for (const mode of modes) {
      const seed = randomBytes(6).toString('hex');
      const digest = digestOf(seed);
      const before = sample(pids);
      const t0 = performance.now();
      await push(base, mode, seed, digest);
      const seconds = (performance.now() - t0) / 1000;
      const after = sample(pids);
      const gib = size / (1024 * MiB);
      const row = {
        cpuPerGiB: (after.ticks - before.ticks) / CLK_TCK / gib,
        gatewayPerGiB: (after.gateway - before.gateway) / CLK_TCK / gib,
        sysPerGiB: (after.sys - before.sys) / CLK_TCK / gib,
        faultsPerMiB: (after.minflt - before.minflt) / (size / MiB),
        switchesPerMiB: (after.switches - before.switches) / (size / MiB),
        mibPerS: size / MiB / seconds,
      };
      results[mode].push(row);
      console.log(
        `${mode.padEnd(5)} run ${run + 1}: ${row.cpuPerGiB.toFixed(2)} CPU s/GiB (gateway ${row.gatewayPerGiB.toFixed(2)}, system ${row.sysPerGiB.toFixed(2)}), ${row.faultsPerMiB.toFixed(0)} minor faults/MiB, ` +
          `${row.switchesPerMiB.toFixed(1)} context switches/MiB, ${row.mibPerS.toFixed(0)} MiB/s (load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
      );
    }
  }
  for (const mode of modes) {
    const rows = results[mode];
    console.log(
      `${mode.padEnd(5)} median: ${median(rows.map((r) => r.cpuPerGiB)).toFixed(2)} CPU s/GiB ` +
        `(gateway ${median(rows.map((r) => r.gatewayPerGiB)).toFixed(2)}, system ${median(rows.map((r) => r.sysPerGiB)).toFixed(2)}), ` +
        `${median(rows.map((r) => r.faultsPerMiB)).toFixed(0)} faults/MiB, ${median(rows.map((r) => r.switchesPerMiB)).toFixed(1)} switches/MiB`,
    );
  }
} finally {
  registry.kill('SIGTERM');
  await new Promise((r) => registry.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}

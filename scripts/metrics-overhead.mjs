// Usage: npm run build && node scripts/metrics-overhead.mjs   (about 5 minutes on a loaded 2-core machine)
// Interleaved A/B: two `registry start` (metrics off / on), same image, alternating rounds of
// manifest GETs; CPU seconds (utime+stime of gateway+storage, from /proc) per 1000 requests.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tick = 100;
const cpuOf = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / tick; };
const children = (ppid) => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => { try { return readFileSync(`/proc/${e}/stat`, 'utf8').slice(readFileSync(`/proc/${e}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ')[1] === String(ppid); } catch { return false; } }).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const req = (port, method, path, body, headers = {}) => new Promise((res, rej) => { const r = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (x) => { const c = []; x.on('data', (d) => c.push(d)); x.on('end', () => res({ status: x.statusCode, headers: x.headers, body: Buffer.concat(c) })); }); r.on('error', rej); r.end(body); });
async function start(name, port, metrics) {
  const dir = `${process.env.TMPDIR ?? '/tmp'}/metrics-overhead-${name}`; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
  const env = { ...process.env, REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`, REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: dir, REGISTRY_LOG_LEVEL: 'warn' };
  if (metrics) Object.assign(env, { REGISTRY_HTTP_DEBUG_ADDR: '127.0.0.1:0', REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true' });
  const p = spawn(process.execPath, [CLI, 'start'], { env, stdio: 'ignore' });
  for (;;) { await new Promise((r) => setTimeout(r, 300)); try { if ((await req(port, 'GET', '/v2/')).status === 200) break; } catch {} }
  const cfg = Buffer.from('{}'); const crypto = await import('node:crypto'); const d = 'sha256:' + crypto.createHash('sha256').update(cfg).digest('hex');
  const up = await req(port, 'POST', '/v2/a/b/blobs/uploads/'); const loc = new URL(up.headers.location, 'http://x');
  await req(port, 'PUT', `${loc.pathname}${loc.search}&digest=${d}`, cfg, { 'content-type': 'application/octet-stream' });
  const m = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d, size: 2 }, layers: [] });
  const put = await req(port, 'PUT', '/v2/a/b/manifests/v1', m, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
  if (put.status !== 201) throw new Error('push failed ' + put.status);
  return { p, pids: () => children(p.pid) };
}
async function round(port, n) { let i = 0; await Promise.all(Array.from({ length: 8 }, async () => { while (i++ < n) { const r = await req(port, 'GET', '/v2/a/b/manifests/v1', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' }); if (r.status !== 200) throw new Error('get ' + r.status); } })); }
const off = await start('off', 5891, false), on = await start('on', 5892, true);
const totals = { off: [0, 0], on: [0, 0] };
const N = 3000;
for (let r = 0; r < 6; r++) for (const [name, reg, port] of r % 2 ? [['on', on, 5892], ['off', off, 5891]] : [['off', off, 5891], ['on', on, 5892]]) {
  const pids = reg.pids(); const c0 = pids.reduce((s, p) => s + cpuOf(p), 0); const t0 = Date.now();
  await round(port, N);
  const c1 = pids.reduce((s, p) => s + cpuOf(p), 0);
  totals[name][0] += c1 - c0; totals[name][1] += N;
  console.log(`${name} round ${r}: ${((c1 - c0) / N * 1e6).toFixed(0)} µs CPU/request, ${(N / ((Date.now() - t0) / 1000)).toFixed(0)} req/s`);
}
for (const k of ['off', 'on']) console.log(`${k}: ${(totals[k][0] / totals[k][1] * 1e6).toFixed(0)} µs CPU per manifest GET (gateway+storage), ${totals[k][1]} requests`);
off.p.kill('SIGTERM'); on.p.kill('SIGTERM'); agent.destroy();
for (const k of ['off', 'on']) setTimeout(() => rmSync(`${process.env.TMPDIR ?? '/tmp'}/metrics-overhead-${k}`, { recursive: true, force: true }), 3000);

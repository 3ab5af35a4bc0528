// A 1 GiB layer on S3 (Ceph RGW started here), pushed through the whole product (`registry
// start`: gateway + storage, htpasswd auth) as clients push it: chunked (POST, two PATCHes that
// do not end on part boundaries, PUT) and monolithic (POST, then one PUT with the whole body),
// then pulled back and hashed. The bytes are never whole in memory, here either: they are
// generated as a seeded stream and hashed as they are sent and received. Neither process may
// need memory in proportion to the layer: their peak RSS (VmHWM) stays far below 1 GiB.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { seededChunks } from '../helpers/oci-image.js';
import { basicAuth, prepareRegistry, RegistryProcess } from '../helpers/registry-process.js';
import { rgwEnvironment, startRgw, type Rgw } from '../helpers/rgw.js';

const MiB = 1024 * 1024;
const LAYER = 1024 * MiB;
// Far below the layer: a few S3 parts in flight, the SDK and node itself. Measured here (2 cores,
// chunksize 10 MiB, the default): gateway ~120 MiB, storage ~130-150 MiB; room for GC timing.
const PEAK_RSS_LIMIT = 400 * MiB;

let dir: string;
let rgw: Rgw;
let registry: RegistryProcess;
let base: string;
let authorization: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-big-layer-'));
  rgw = await startRgw();
  const bucket = await rgw.newBucket();
  const setup = await prepareRegistry(dir, rgwEnvironment(rgw, bucket));
  registry = await RegistryProcess.start(setup);
  base = `http://127.0.0.1:${setup.httpPort}`;
  authorization = basicAuth(setup.user, setup.password);
});

test.after.always(async () => {
  await registry?.stop();
  await rgw?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** sha256 of the body, when asked for instead of its text. */
  sha256?: string;
  bytes: number;
}

/** One request through the gateway; the body is streamed, the answer hashed (`hashBody`) or read as text. */
function request(method: string, path: string, options: { body?: Readable; headers?: Record<string, string>; hashBody?: boolean } = {}): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { authorization, ...options.headers }, agent: false }, (res) => {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.hashBody) hash.update(chunk);
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
          bytes,
          ...(options.hashBody ? { sha256: `sha256:${hash.digest('hex')}` } : {}),
        }),
      );
    });
    req.setTimeout(300_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (options.body) {
      options.body.on('error', (err) => req.destroy(err));
      options.body.pipe(req);
    } else {
      req.end();
    }
  });
}

/** The seeded layer as consecutive pieces of the given sizes, each a stream; `hash` sees every byte as it is sent. */
function layerPieces(seed: string, sizes: number[], hash: ReturnType<typeof createHash>): Readable[] {
  const source = seededChunks(seed, sizes.reduce((a, b) => a + b, 0));
  let leftover: Buffer | undefined;
  return sizes.map((size) =>
    Readable.from(
      (function* () {
        for (let sent = 0; sent < size; ) {
          let chunk = leftover ?? source.next().value;
          leftover = undefined;
          if (!chunk) throw new Error('the seeded stream ended early');
          if (chunk.length > size - sent) {
            leftover = chunk.subarray(size - sent);
            chunk = chunk.subarray(0, size - sent);
          }
          sent += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      })(),
      { objectMode: false },
    ),
  );
}

function peakRss(role: 'gateway' | 'storage'): number {
  const pid = registry.children()[role]?.pid;
  if (pid === undefined) throw new Error(`no ${role} process`);
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

async function pullAndCompare(t: ExecutionContext, repo: string, digest: string): Promise<void> {
  const pulled = await request('GET', `/v2/${repo}/blobs/${digest}`, { hashBody: true });
  t.is(pulled.status, 200);
  t.is(pulled.bytes, LAYER);
  t.is(pulled.sha256, digest, 'the layer came back whole');
  t.is(pulled.headers['docker-content-digest'], digest);
}

/** utime + stime of a process in seconds (USER_HZ is 100 on Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds so far of every process at work, for the CI time this file costs on a quiet machine. */
function reportCpu(t: ExecutionContext): void {
  const rgwDir = join(rgw.dir, 'c');
  const ceph = readdirSync(rgwDir).filter((name) => name.endsWith('.pid')).map((name) => Number(readFileSync(join(rgwDir, name), 'utf8')));
  const { gateway, storage } = registry.children();
  const self = process.cpuUsage();
  const used = {
    gateway: cpuSeconds(gateway!.pid),
    storage: cpuSeconds(storage!.pid),
    ceph: ceph.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    test: (self.user + self.system) / 1e6,
  };
  t.log(`CPU seconds so far: ${Object.entries(used).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
}

function reportPeaks(t: ExecutionContext): void {
  reportCpu(t);
  for (const role of ['gateway', 'storage'] as const) {
    const peak = peakRss(role);
    t.log(`${role} peak RSS (VmHWM) so far: ${(peak / MiB).toFixed(0)} MiB`);
    t.true(peak < PEAK_RSS_LIMIT, `${role} peaked at ${(peak / MiB).toFixed(0)} MiB for a ${LAYER / MiB} MiB layer`);
  }
}

test.serial('a 1 GiB layer pushed in chunks (POST, 2 PATCHes, PUT) comes back whole, in bounded memory', async (t) => {
  const repo = 'big/chunked';
  // Pieces that do not end on S3 part boundaries: the append continues from an odd size.
  const sizes = [512 * MiB + 12_345, 512 * MiB - 12_345];
  const hash = createHash('sha256');
  const pieces = layerPieces('s3-big-chunked', sizes, hash);
  // Where the time goes, logged (never asserted: the machine is shared).
  const t0 = Date.now();
  const started = await request('POST', `/v2/${repo}/blobs/uploads/`);
  t.is(started.status, 202, started.text);
  let location = started.headers.location!;
  let offset = 0;
  for (const [i, piece] of pieces.entries()) {
    const size = sizes[i]!;
    const patched = await request('PATCH', location, {
      body: piece,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'content-range': `${offset}-${offset + size - 1}` },
    });
    offset += size;
    t.log(`PATCH ${i + 1} done at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t.is(patched.status, 202, patched.text);
    t.is(patched.headers.range, `0-${offset - 1}`);
    location = patched.headers.location!;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  const done = await request('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`);
  t.is(done.status, 201, done.text);
  t.is(done.headers['docker-content-digest'], digest);
  t.log(`PUT done at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await pullAndCompare(t, repo, digest);
  t.log(`pull done at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  reportPeaks(t);
});

test.serial('a 1 GiB layer pushed monolithically (POST, one PUT with the whole body) comes back whole, in bounded memory', async (t) => {
  const repo = 'big/monolithic';
  const seed = 's3-big-monolithic';
  // The digest goes with the PUT, before the body: one pass over the seeded stream first.
  const expected = createHash('sha256');
  for (const chunk of seededChunks(seed, LAYER)) expected.update(chunk);
  const digest = `sha256:${expected.digest('hex')}`;
  const started = await request('POST', `/v2/${repo}/blobs/uploads/`);
  t.is(started.status, 202, started.text);
  const location = started.headers.location!;
  const sent = createHash('sha256');
  const [body] = layerPieces(seed, [LAYER], sent);
  const done = await request('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, {
    body: body!,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(LAYER) },
  });
  t.is(done.status, 201, done.text);
  t.is(`sha256:${sent.digest('hex')}`, digest, 'what was sent is what was announced');
  await pullAndCompare(t, repo, digest);
  reportPeaks(t);
});

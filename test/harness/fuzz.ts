// The hostile-input fuzzer: generated bad names, references, digests, upload sequences, ranges,
// manifests, headers, pipelined and slow requests against the real `registry start` (htpasswd
// auth on, with anonymous and wrong-password traffic), over raw sockets to 127.0.0.1 only.
//
// Case i draws everything from Prng.derive(seed, i): `--seed S --case i` replays one finding.
// Findings: any 5xx; a request not answered within its bound (hang) or closed unanswered; a
// process that exits (crash); a 2xx/3xx on /v2/ without valid credentials (auth bypass); an
// absolute Location whose host is not the Host the client sent; a slow or idle client that is
// never cut off; and, at the end, any file outside registry:2's layout in the data directory,
// anything written to the registry's TMPDIR/cwd, and any file named after this run's marker
// anywhere the traversal attempts could have reached.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { basicAuth, prepareRegistry, RegistryProcess, type RegistrySetup } from '../helpers/registry-process.js';
import { seededBytes } from '../helpers/oci-image.js';
import { MEDIA } from '../helpers/storage-fixtures.js';
import { sha256 } from '../helpers/storage-http.js';
import { listTree } from '../helpers/storage-server.js';
import { DataDirChecker, dataDirFindings } from './data-dir-check.js';
import { CATEGORIES, EVIL_HOST, type Fixture, type FuzzIO, type RequestSpec } from './fuzz-cases.js';
import { Prng } from './prng.js';
import { exchange, type Piece, type RawResponse } from './raw-http.js';
import { Traffic } from './traffic.js';

export interface FuzzOptions {
  seed: number;
  /** Requests to send (pipelined requests count one each). */
  requests: number;
  concurrency: number;
  /** Replay only this case. */
  onlyCase?: number;
  /** Also check that a connection idle in the middle of its headers is closed within 75 s. */
  idleProbe: boolean;
  keep: boolean;
  log: (line: string) => void;
  /** Polled between cases: true ends the run early, with the final checks. */
  stopRequested?: () => boolean;
}

export const QUICK_FUZZ: Omit<FuzzOptions, 'seed' | 'log'> = { requests: 1500, concurrency: 6, idleProbe: false, keep: false };
export const LONG_FUZZ: Omit<FuzzOptions, 'seed' | 'log'> = { requests: 50_000, concurrency: 8, idleProbe: true, keep: false };

export interface FindingGroup {
  category: string;
  signature: string;
  count: number;
  /** The first few occurrences: seed, case and the request as sent (credentials masked). */
  reproducers: string[];
}

export interface FuzzReport {
  seed: number;
  dir: string;
  requests: number;
  cases: number;
  durationMs: number;
  statuses: Record<string, number>;
  findings: FindingGroup[];
}

const DEFAULT_TIMEOUT_MS = 15_000;
const SLOW_SENDER_BOUND_MS = 12_000;
const IDLE_BOUND_MS = 75_000;

export async function runFuzzer(options: FuzzOptions): Promise<FuzzReport> {
  const began = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-harness-'));
  const setup = await prepareRegistry(dir);
  const marker = `fz${new Prng(options.seed).hex(10)}`;
  const groups = new Map<string, FindingGroup>();
  const statuses: Record<string, number> = {};
  const add = (category: string, signature: string, reproducer: string) => {
    const key = `${category}\0${signature}`;
    let group = groups.get(key);
    if (!group) {
      group = { category, signature, count: 0, reproducers: [] };
      groups.set(key, group);
      options.log(`FINDING [${category}] ${signature}\n  ${reproducer.slice(0, 600)}`);
    }
    group.count++;
    if (group.reproducers.length < 3) group.reproducers.push(reproducer);
  };
  options.log(`fuzzer: seed ${options.seed}, ${options.onlyCase !== undefined ? `case ${options.onlyCase} only` : `${options.requests} requests`}, marker ${marker}, dir ${dir}`);

  let registry = await RegistryProcess.start(setup);
  const fixture = await pushFixture(setup, options.seed);
  const scratchBefore = await listTree(setup.scratchDir);
  // A crash takes everything in flight with it: those requests are not findings of their own.
  const crashWindows: Array<{ start: number; end: number }> = [];
  const inFlight = new Map<number, string>();
  let sent = 0;

  const watchdog = setInterval(() => {
    if (restarting || registry.healthy()) return;
    restarting = true;
    const start = Date.now();
    crashWindows.push({ start, end: Number.POSITIVE_INFINITY });
    const cases = [...inFlight.entries()].map(([i, c]) => `case ${i} (${c})`).join(', ');
    add('crash', `a process exited: ${JSON.stringify(registry.exitStatus ?? 'a child died')}`, `seed ${options.seed}; in flight: ${cases}\n${registry.logTail(1500)}`);
    void (async () => {
      await registry.waitAllGone(30_000);
      try {
        registry = await RegistryProcess.start(setup);
      } catch (error) {
        add('crash', 'the registry did not start again after a crash', (error as Error).message);
        gaveUp = true;
      }
      crashWindows[crashWindows.length - 1]!.end = Date.now();
      restarting = false;
    })();
  }, 200);
  let restarting = false;
  let gaveUp = false;

  const io = (caseIndex: number, category: string, prng: Prng): FuzzIO => {
    const where = (text: string) => `seed ${options.seed} case ${caseIndex} (${category}): ${text}`;
    const duringCrash = (start: number) => crashWindows.some((w) => start <= w.end && Date.now() >= w.start);
    const check = (spec: RequestSpec, res: RawResponse, request: Buffer) => {
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const path = spec.target.split('?')[0]!;
      if (res.status >= 500) add('5xx', `${res.status} for ${category}: ${spec.method} ${signatureOf(spec)}`, where(describe(request, res)));
      if ((spec.auth === 'none' || spec.auth === 'wrong' || spec.raw) && res.status >= 200 && res.status < 400 && /^\/+v2/i.test(path) && !(path === '/v2/' && res.status === 401)) {
        add('auth bypass', `${res.status} for ${spec.method} ${signatureOf(spec)} with ${spec.auth ?? 'raw'} credentials`, where(describe(request, res)));
      }
      const location = res.headers.location;
      if (location) {
        const problem = locationProblem(location, hostsOf(spec, setup.httpPort));
        if (problem) add('spoofed Location', problem.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/_state=[^&\s]*/, '_state=…'), where(describe(request, res)));
      }
    };
    return {
      prng,
      fixture,
      marker,
      send: async (spec) => {
        const request = spec.raw ?? buildRequest(spec, setup, true);
        const started = Date.now();
        const result = await exchange({ port: setup.httpPort, localAddress: guesserAddress(spec, caseIndex), pieces: slowly(request, spec), methods: [spec.method], timeoutMs: spec.timeoutMs ?? DEFAULT_TIMEOUT_MS });
        sent++;
        const res = result.responses[0];
        if (duringCrash(started)) return res;
        if (result.timedOut) add('hang', `no answer within ${spec.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms for ${category}: ${spec.method} ${signatureOf(spec)}`, where(describe(request)));
        else if (!res && !spec.raw) add('closed without an answer', `${category}: ${spec.method} ${signatureOf(spec)}${result.error ? ` (${result.error})` : ''}`, where(describe(request)));
        if (res) check(spec, res, request);
        return res;
      },
      pipeline: async (specs) => {
        const requests = specs.map((spec, i) => buildRequest(spec, setup, i === specs.length - 1));
        const started = Date.now();
        const result = await exchange({ port: setup.httpPort, pieces: [Buffer.concat(requests)], methods: specs.map((s) => s.method), timeoutMs: 20_000 });
        sent += specs.length;
        if (duringCrash(started)) return;
        if (result.responses.length < specs.length && !refusedUnparsable(specs, result.responses)) {
          const lines = specs.map((s, i) => `${i < result.responses.length ? result.responses[i]!.status : 'unanswered'} <- ${s.method} ${s.target.slice(0, 100)}${s.body ? ` + ${s.body.length} bytes` : ''}`);
          add('pipelining', `fewer answers than pipelined requests${result.timedOut ? ' (then silence)' : ' (then the connection closed)'}`, where(`${result.responses.length} of ${specs.length} answered:\n    ${lines.join('\n    ')}`));
        }
        result.responses.forEach((res, i) => check(specs[i]!, res, requests[i]!));
      },
    };
  };

  // The probes take 12 s (75 s for the idle one): not when replaying a single case.
  const probes = options.onlyCase === undefined ? [slowSenderProbe(setup, add, options.seed)] : [];
  if (options.idleProbe && options.onlyCase === undefined) probes.push(idleProbe(setup, add, options.seed));

  const categories = Object.entries(CATEGORIES);
  const totalWeight = categories.reduce((sum, [, c]) => sum + c.weight, 0);
  let nextCase = options.onlyCase ?? 0;
  let cases = 0;
  const worker = async () => {
    while ((options.onlyCase === undefined ? sent < options.requests : cases === 0) && !options.stopRequested?.() && !gaveUp) {
      const index = nextCase++;
      cases++;
      const prng = Prng.derive(options.seed, index);
      let roll = prng.next() * totalWeight;
      const [category, { run }] = categories.find(([, c]) => (roll -= c.weight) < 0) ?? categories[0]!;
      while (restarting) await new Promise((resolve) => setTimeout(resolve, 100));
      inFlight.set(index, category);
      try {
        await run(io(index, category, prng));
      } catch (error) {
        add('harness error', `${category}: ${(error as Error).message}`, `seed ${options.seed} case ${index}: ${(error as Error).stack ?? ''}`);
      } finally {
        inFlight.delete(index);
      }
      if (cases % 500 === 0) options.log(`${cases} cases, ${sent} requests, ${Math.round((Date.now() - began) / 1000)} s`);
    }
  };
  await Promise.all(Array.from({ length: options.onlyCase === undefined ? options.concurrency : 1 }, worker));
  await Promise.all(probes);
  clearInterval(watchdog);
  while (restarting) await new Promise((resolve) => setTimeout(resolve, 100));

  if (!registry.healthy()) add('crash', 'a process had exited at the end', registry.logTail(1500));
  const lingering = await registry.stop();
  if (lingering.length > 0) add('crash', `${lingering.join(', ')} did not stop within 20 s of SIGTERM`, `seed ${options.seed}`);
  await checkFiles(setup, marker, scratchBefore, add);

  const report: FuzzReport = {
    seed: options.seed,
    dir,
    requests: sent,
    cases,
    durationMs: Date.now() - began,
    statuses,
    findings: [...groups.values()],
  };
  if (report.findings.length === 0 && !options.keep) await rm(dir, { recursive: true, force: true });
  return report;
}

/** One small image in two repositories: valid names, tags and digests for the cases to bend. */
async function pushFixture(setup: RegistrySetup, seed: number): Promise<Fixture> {
  const traffic = new Traffic(`http://127.0.0.1:${setup.httpPort}`, basicAuth(setup.user, setup.password));
  const layer = seededBytes(`fuzz-layer-${seed}`, 20_000);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length }],
    }),
  );
  for (const name of ['fuzz/app', 'fuzz/other']) {
    for (const blob of [layer, config]) {
      const res = await traffic.send('fixture blob', `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: { 'content-type': 'application/octet-stream' } });
      if (res.status !== 201 && res.status !== 202) throw new Error(`fixture blob: ${res.status} ${res.text}`);
      if (res.status === 202) {
        const url = new URL(res.header('location'), 'http://x');
        url.searchParams.set('digest', sha256(blob));
        const put = await traffic.send('fixture blob', url.pathname + url.search, { method: 'PUT', body: blob });
        if (put.status !== 201) throw new Error(`fixture blob PUT: ${put.status} ${put.text}`);
      }
    }
    const put = await traffic.send('fixture manifest', `/v2/${name}/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'content-type': MEDIA.ociManifest } });
    if (put.status !== 201) throw new Error(`fixture manifest: ${put.status} ${put.text}`);
  }
  return { name: 'fuzz/app', tag: 'v1', manifestDigest: sha256(manifest), manifest, configDigest: sha256(config), config, layerDigest: sha256(layer), layer, otherName: 'fuzz/other' };
}

function buildRequest(spec: RequestSpec, setup: RegistrySetup, close: boolean): Buffer {
  const lines = [`${spec.method} ${spec.target} ${spec.version ?? 'HTTP/1.1'}`];
  if (spec.host !== null) lines.push(`Host: ${spec.host ?? `127.0.0.1:${setup.httpPort}`}`);
  const auth = spec.auth ?? 'user';
  if (auth === 'user') lines.push(`Authorization: ${basicAuth(setup.user, setup.password)}`);
  if (auth === 'wrong') lines.push(`Authorization: ${basicAuth(setup.user, `${setup.password}x`)}`);
  for (const [name, value] of spec.headers ?? []) lines.push(`${name}: ${value}`);
  if (spec.body && spec.contentLength !== false) lines.push(`Content-Length: ${spec.body.length}`);
  if (!spec.body && spec.contentLength !== false && ['POST', 'PUT', 'PATCH'].includes(spec.method)) lines.push('Content-Length: 0');
  if (close) lines.push('Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), spec.body ?? Buffer.alloc(0)]);
}

/** The request cut into `slow.pieces` parts with pauses between them. */
function slowly(request: Buffer, spec: RequestSpec): Piece[] {
  if (!spec.slow) return [request];
  const pieces: Piece[] = [];
  const size = Math.ceil(request.length / spec.slow.pieces);
  for (let offset = 0; offset < request.length; offset += size) {
    if (offset > 0) pieces.push({ pauseMs: spec.slow.pauseMs });
    pieces.push(request.subarray(offset, offset + size));
  }
  return pieces;
}

/**
 * Where a request without the harness user's valid credentials comes from: one of 100 other
 * loopback addresses, chosen by case (replays stay the same). The gateway throttles an address
 * that fails logins for a user, that user's good credentials included (gateway/auth/login-throttle.ts);
 * from 127.0.0.1 the wrong-password cases throttled the valid traffic too, and about half of
 * all answers were 429 that tested nothing else.
 */
function guesserAddress(spec: RequestSpec, caseIndex: number): string | undefined {
  const guessing = spec.raw !== undefined || (spec.auth ?? 'user') !== 'user';
  return guessing ? `127.0.0.${2 + (caseIndex % 100)}` : undefined;
}

/**
 * A pipeline that stops after a 400 with `Connection: close` to a request target HTTP does not
 * allow (raw bytes outside visible ASCII): the server could not parse that request, so it cannot
 * know where the next one starts, and RFC 9112 §2.2 says to answer 400 and close. Not a finding.
 */
function refusedUnparsable(specs: RequestSpec[], responses: RawResponse[]): boolean {
  const last = responses.at(-1);
  const spec = specs[responses.length - 1];
  return last !== undefined && spec !== undefined && last.status === 400 && /close/i.test(last.headers.connection ?? '') && /[^\x21-\x7e]/.test(spec.target);
}

/** The Host values a request carried: the default one, an override, or extra Host headers. */
function hostsOf(spec: RequestSpec, port: number): string[] {
  if (spec.raw) return [];
  const hosts = spec.host === null ? [] : [spec.host ?? `127.0.0.1:${port}`];
  for (const [name, value] of spec.headers ?? []) if (name.toLowerCase() === 'host') hosts.push(value);
  return hosts;
}

function locationProblem(location: string, hostsSent: string[]): string | undefined {
  if (!/^([a-z][a-z0-9+.-]*:)?\/\//i.test(location)) return undefined; // relative: the client's own host
  let host: string;
  try {
    host = new URL(location).host.toLowerCase();
  } catch {
    return `unparsable absolute Location ${location.slice(0, 200)}`;
  }
  if (hostsSent.length !== 1) {
    return host.includes(EVIL_HOST) ? `Location host ${host} came from a forwarded or extra Host header (Hosts sent: ${hostsSent.join(' | ') || 'none'})` : undefined;
  }
  const sent = hostsSent[0]!;
  let expected: string | undefined;
  try {
    const url = new URL(`http://${sent}`);
    expected = url.host.toLowerCase() === sent.toLowerCase() || `${url.host}:80` === sent.toLowerCase() ? url.host.toLowerCase() : undefined;
  } catch {
    expected = undefined;
  }
  if (expected === undefined) return `absolute Location built from a malformed Host (${JSON.stringify(sent.slice(0, 60))} -> ${host})`;
  return host === expected ? undefined : `Location host ${host} is not the Host sent (${sent.slice(0, 60)})`;
}

/** A short, stable description of a request for grouping findings: the route's shape and a body size class. */
function signatureOf(spec: RequestSpec): string {
  const path = spec.target.split('?')[0]!;
  const route = /^\/v2\/(.+)\/(manifests|blobs\/uploads|blobs|tags|referrers)\/(.*)$/.exec(path);
  const shape = route ? `/v2/<name>/${route[2]}/${route[2] === 'tags' ? route[3] : route[3] ? '<ref>' : ''}` : path.length > 60 ? `${path.slice(0, 40)}…` : path;
  const size = spec.body?.length ?? 0;
  const body = size === 0 ? '' : size < 1024 ? ' [body < 1 KiB]' : size < 1 << 20 ? ' [body < 1 MiB]' : size <= 4 << 20 ? ' [body 1-4 MiB]' : ' [body > 4 MiB]';
  return `${shape}${body}`;
}

/** The request as sent (credentials masked, long parts cut) and the answer's head. */
function describe(request: Buffer, res?: RawResponse): string {
  const headEnd = request.indexOf('\r\n\r\n');
  const head = (headEnd >= 0 ? request.subarray(0, headEnd) : request.subarray(0, 400)).toString('latin1').replace(/(Authorization: Basic )\S+/i, '$1<masked>');
  const cut = head.length > 700 ? `${head.slice(0, 700)}…(${head.length} chars)` : head;
  const bodyLength = headEnd >= 0 ? request.length - headEnd - 4 : 0;
  const answer = res ? `\n  -> ${res.status} ${res.body.subarray(0, 200).toString('utf8')}` : '';
  return `${JSON.stringify(cut)}${bodyLength > 0 ? ` + ${bodyLength} body bytes` : ''}${answer}`;
}

/**
 * An unauthenticated POST that announces 1 GB and then dribbles a byte a second: after its 401 the
 * server must stop reading (close the connection) instead of holding it open for the sender.
 */
async function slowSenderProbe(setup: RegistrySetup, add: (c: string, s: string, r: string) => void, seed: number): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port: setup.httpPort });
  let answered = 0;
  let closed = false;
  socket.on('data', () => (answered = answered || Date.now()));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  socket.write(`POST /v2/fuzz/app/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1:${setup.httpPort}\r\nContent-Length: 1000000000\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const started = Date.now();
  while (!closed && Date.now() - started < SLOW_SENDER_BOUND_MS + 5000) {
    if (answered && Date.now() - answered > SLOW_SENDER_BOUND_MS) break;
    socket.write('x');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  socket.destroy();
  if (!answered) add('slow client not cut off', 'unauthenticated POST announcing 1 GB, a byte a second: no answer at all', `seed ${seed}: slow-sender probe`);
  else if (!closed) add('slow client not cut off', `unauthenticated POST announcing 1 GB, a byte a second: still open ${SLOW_SENDER_BOUND_MS / 1000} s after the 401`, `seed ${seed}: slow-sender probe`);
}

/** A connection that stops in the middle of its headers must be closed within 75 s. */
async function idleProbe(setup: RegistrySetup, add: (c: string, s: string, r: string) => void, seed: number): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port: setup.httpPort });
  socket.on('error', () => undefined);
  // Read whatever comes (a 408): a socket nobody reads never sees the server's FIN, so it would
  // look open however promptly the server closed it.
  socket.resume();
  socket.write(`GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${setup.httpPort}\r\nX-Partial: `);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), IDLE_BOUND_MS);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  if (!closed) add('slow client not cut off', `a connection idle in the middle of its headers was still open after ${IDLE_BOUND_MS / 1000} s`, `seed ${seed}: idle probe`);
}

/** Files the fuzz may have created where it must not: outside the layout, in scratch, or by marker. */
async function checkFiles(setup: RegistrySetup, marker: string, scratchBefore: string[], add: (c: string, s: string, r: string) => void): Promise<void> {
  const report = await new DataDirChecker(setup.root).check();
  for (const finding of dataDirFindings(report, { tempFiles: true })) add('file outside the layout', finding.replace(/fz[0-9a-f]{10}/g, '<marker>'), finding);
  const scratchAfter = await listTree(setup.scratchDir);
  for (const path of scratchAfter.filter((p) => !scratchBefore.includes(p))) add('file outside the layout', `written to the registry's TMPDIR/cwd: ${path}`, path);
  // Where a traversal could have landed: the data directory's ancestors, the harness directory, /tmp, /etc, /.
  const places = new Set<string>([setup.dir, tmpdir(), '/etc', '/']);
  for (let d = setup.root; d !== dirname(d); d = dirname(d)) places.add(d);
  for (const place of places) {
    const deep = place === setup.dir;
    // The data directory itself is judged by its layout: valid names may contain the marker.
    const entries = deep ? (await listTree(place)).filter((p) => !p.startsWith('data/')) : await readdir(place).catch(() => [] as string[]);
    for (const entry of entries) if (entry.includes(marker)) add('file outside the layout', `a file named after the run's marker: ${join(place, entry)}`, join(place, entry));
  }
}

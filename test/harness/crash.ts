// The crash harness: concurrent pushers against the real `registry start` (htpasswd auth, a
// temporary data directory, free ports) while a random one of {parent, gateway child, storage
// child} is SIGKILLed and the whole `registry start` is started again on the same data and gateway port.
//
// After every kill, while nothing runs, the data directory is checked (blob files hash to their
// digest, links name existing blobs; unchanged files are not read again). After every restart,
// every acknowledged image's manifest is pulled by tag; the images acknowledged since the last
// check, plus a bounded sample of older ones, are pulled in full (by tag and digest, every blob
// hashed). At the end every blob of every
// acknowledged image is hashed through the API, the registry is stopped cleanly and the directory
// is checked once more, temporary files included.
//
// A 5xx or a dropped connection counts only when the request overlapped no down window: from just
// before the SIGKILL until the restarted registry answered an authenticated GET /v2/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapBounded } from '../../storage/registry/bounded.js';
import { basicAuth, prepareRegistry, RegistryProcess, type RegistryRole } from '../helpers/registry-process.js';
import { MANIFEST_ACCEPT } from '../helpers/storage-http.js';
import { DataDirChecker, dataDirFindings } from './data-dir-check.js';
import { Prng } from './prng.js';
import { runHttpPusher, runSkopeoPusher, type AcknowledgedImage, type PusherContext } from './pushers.js';
import { Traffic } from './traffic.js';

export interface CrashOptions {
  seed: number;
  kills: number;
  httpPushers: number;
  skopeoPushers: number;
  maxLayerMiB: number;
  /** Time the registry runs between readiness (and the pull check) and the next kill. */
  minUpMs: number;
  maxUpMs: number;
  /** How many older images get their blobs hashed in full after each restart. */
  sampleOld: number;
  /** Keep the working directory (it is always kept when there are findings). */
  keep: boolean;
  log: (line: string) => void;
  /** Polled before each kill: true ends the run early, with the final checks (Ctrl-C in long mode). */
  stopRequested?: () => boolean;
}

// Quick mode (CI): about a minute on a 2-core machine, most of it the restarts themselves (three
// Node processes starting); short up times still leave every kill landing amid pushes.
export const QUICK_CRASH: Omit<CrashOptions, 'seed' | 'log'> = {
  kills: 8,
  httpPushers: 3,
  skopeoPushers: 1,
  maxLayerMiB: 4,
  minUpMs: 500,
  maxUpMs: 2000,
  sampleOld: 2,
  keep: false,
};

export const LONG_CRASH: Omit<CrashOptions, 'seed' | 'log'> = {
  ...QUICK_CRASH,
  kills: 200,
  httpPushers: 4,
  skopeoPushers: 1,
  maxLayerMiB: 100,
  minUpMs: 1000,
  maxUpMs: 4000,
  sampleOld: 3,
};

export interface Finding {
  category: string;
  detail: string;
}

export interface CrashReport {
  seed: number;
  dir: string;
  kills: Record<RegistryRole, number>;
  acknowledged: number;
  pushAttempts: number;
  requests: number;
  bytesAcknowledged: number;
  durationMs: number;
  findings: Finding[];
  notes: string[];
}

const ROLES: RegistryRole[] = ['parent', 'gateway', 'storage'];
/** Image checks at once: keeps a 2-core machine busy without starving the pushers. */
const CHECK_CONCURRENCY = 8;

export async function runCrashHarness(options: CrashOptions): Promise<CrashReport> {
  const began = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'crash-harness-'));
  const setup = await prepareRegistry(dir);
  const findings: Finding[] = [];
  const notes: string[] = [];
  const add = (category: string, detail: string) => {
    findings.push({ category, detail });
    options.log(`FINDING [${category}] ${detail}`);
  };
  const prng = Prng.derive(options.seed, 'kills');
  // Sampling has its own stream: the kill schedule must not depend on how many images got through.
  const sampler = Prng.derive(options.seed, 'verify');
  const traffic = new Traffic(`http://127.0.0.1:${setup.httpPort}`, basicAuth(setup.user, setup.password));
  const checker = new DataDirChecker(setup.root);
  const kills: Record<RegistryRole, number> = { parent: 0, gateway: 0, storage: 0 };
  const acknowledged: AcknowledgedImage[] = [];
  let stopping = false;
  const ctx: PusherContext = {
    traffic,
    seed: options.seed,
    maxLayerBytes: options.maxLayerMiB * 1024 * 1024,
    acknowledged,
    surprises: [],
    stopping: () => stopping,
  };
  options.log(`crash harness: seed ${options.seed}, ${options.kills} kills, ${options.httpPushers} HTTP + ${options.skopeoPushers} skopeo pushers, layers up to ${options.maxLayerMiB} MiB, dir ${dir}`);

  let registry = await RegistryProcess.start(setup);
  const pushers = [
    ...Array.from({ length: options.httpPushers }, (_, i) => runHttpPusher(i, ctx)),
    ...Array.from({ length: options.skopeoPushers }, (_, i) => runSkopeoPusher(i, ctx, dir, setup.httpPort, `${setup.user}:${setup.password}`)),
  ];
  let verifiedUpTo = 0;
  let aborted = false;
  try {
    for (let k = 1; k <= options.kills && !options.stopRequested?.(); k++) {
      await sleep(prng.int(options.minUpMs, options.maxUpMs));
      if (!registry.healthy()) add('crash', `a process died on its own before kill ${k}: ${JSON.stringify(registry.exitStatus)}\n${registry.logTail(1500)}`);
      const role = prng.pick(ROLES);
      traffic.markDown(role);
      const pid = registry.kill(role);
      kills[role]++;
      const lingering = await registry.waitAllGone(30_000);
      const goneAt = Date.now();
      if (lingering.length > 0) add('orphan', `kill ${k} (${role} ${pid}): ${lingering.join(', ')} still running 30 s later (SIGKILLed)`);

      const checkedAt = Date.now();
      const report = await checker.check();
      for (const finding of dataDirFindings(report, { tempFiles: false })) add('data directory after kill', `kill ${k} (${role}): ${finding}`);

      const restartAt = Date.now();
      registry = await restart(setup, k, add);
      // Pushers resume after the check: on a loaded machine they would otherwise stretch it, and
      // a longer cycle pushes more to check next time.
      traffic.hold();
      traffic.markUp();
      const upAt = Date.now();
      // Proportional to what changed: every image by tag (tag link, revision, manifest bytes: one
      // cheap GET each); blobs hashed in full only for the images acknowledged since the last
      // check and a bounded sample of older ones. The data-directory check above already hashed
      // every new blob file; the final check hashes everything through the API.
      const images = acknowledged.slice();
      const sample = new Set(Array.from({ length: Math.min(options.sampleOld, verifiedUpTo) }, () => sampler.int(0, verifiedUpTo - 1)));
      const checks = images.map((image, i) => (): Promise<string[]> => verifyImage(traffic, image, i >= verifiedUpTo || sample.has(i) ? 'full' : 'manifest'));
      const fresh = images.length - verifiedUpTo;
      verifiedUpTo = images.length;
      for (const problem of (await mapBounded(checks, CHECK_CONCURRENCY, (check) => check())).flat()) add('lost or corrupt image', `after kill ${k} (${role}): ${problem}`);
      traffic.release();
      options.log(
        `kill ${k}/${options.kills}: ${role} (pid ${pid}); all gone in ${goneAt - traffic.windows[k - 1]!.start} ms, data dir checked in ${restartAt - checkedAt} ms ` +
          `(${report.blobs} blobs, ${report.links} links), ready ${upAt - restartAt} ms after restart, ${images.length} images checked by tag ` +
          `(${fresh} new and ${sample.size} older in full) in ${Date.now() - upAt} ms`,
      );
    }
  } catch (error) {
    // The registry did not come back: stop the pushers, report what was seen, leave nothing running.
    add('restart', `run aborted: ${(error as Error).message}\n${registry.logTail(1500)}`);
    aborted = true;
    traffic.markUp();
  } finally {
    stopping = true;
    traffic.release();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 600_000)));
    const settled = await Promise.race([Promise.all(pushers).then(() => true), bound]);
    clearTimeout(timer);
    if (!settled) add('hang', 'pushers did not finish within 10 minutes after the last kill');
  }

  const pushAttempts = (await Promise.all(pushers)).reduce((a, b) => a + b, 0);
  const finalChecks = (aborted ? [] : acknowledged).map((image) => () => verifyImage(traffic, image, 'full'));
  for (const problem of (await mapBounded(finalChecks, CHECK_CONCURRENCY, (check) => check())).flat()) add('lost or corrupt image', `final pull: ${problem}`);
  if (!registry.healthy()) add('crash', `a process died on its own: ${JSON.stringify(registry.exitStatus)}`);
  const lingering = await registry.stop();
  if (lingering.length > 0) add('orphan', `clean stop: ${lingering.join(', ')} still running 20 s after SIGTERM`);
  const final = await checker.check();
  for (const finding of dataDirFindings(final, { tempFiles: true })) add('data directory at the end', finding);
  for (const event of traffic.unexpectedFailures()) {
    add('5xx or failure while up', `${event.label}: ${event.status ?? event.error} at +${event.start - began} ms (seed ${options.seed})`);
  }
  for (const surprise of ctx.surprises) notes.push(surprise);

  const report: CrashReport = {
    seed: options.seed,
    dir,
    kills,
    acknowledged: acknowledged.length,
    pushAttempts,
    requests: traffic.events.length,
    bytesAcknowledged: acknowledged.reduce((sum, image) => sum + image.blobs.reduce((s, b) => s + b.size, 0), 0),
    durationMs: Date.now() - began,
    findings,
    notes,
  };
  if (findings.length === 0 && !options.keep) await rm(dir, { recursive: true, force: true });
  return report;
}

async function restart(setup: Parameters<typeof RegistryProcess.start>[0], k: number, add: (c: string, d: string) => void): Promise<RegistryProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await RegistryProcess.start(setup);
    } catch (error) {
      add('restart', `restart after kill ${k}, attempt ${attempt}: ${(error as Error).message}`);
      if (attempt >= 3) throw error;
      await sleep(1000);
    }
  }
}

/**
 * Problems pulling one acknowledged image: the manifest by tag, and with 'full' by digest too and
 * every blob hashed in full.
 */
async function verifyImage(traffic: Traffic, image: AcknowledgedImage, depth: 'full' | 'manifest'): Promise<string[]> {
  const problems: string[] = [];
  const where = `${image.name}:${image.tag} (${image.digest}, pushed by ${image.pusher})`;
  for (const reference of depth === 'manifest' ? [image.tag] : [image.tag, image.digest]) {
    try {
      const res = await traffic.send(`GET manifest ${image.name}:${reference}`, `/v2/${image.name}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
      if (res.status !== 200) problems.push(`${where}: GET manifest ${reference} answered ${res.status} ${res.text.slice(0, 200)}`);
      else if (!res.body.equals(image.manifest)) problems.push(`${where}: manifest ${reference} has other bytes (${res.body.length} bytes)`);
    } catch (error) {
      problems.push(`${where}: GET manifest ${reference}: ${(error as Error).message}`);
    }
  }
  for (const blob of depth === 'manifest' ? [] : image.blobs) {
    const path = `/v2/${image.name}/blobs/${blob.digest}`;
    try {
      const got = await traffic.hashGet(`GET blob ${image.name}`, path);
      if (got.status !== 200) problems.push(`${where}: GET blob ${blob.digest} answered ${got.status}`);
      else if (got.digest !== blob.digest || got.size !== blob.size) problems.push(`${where}: blob ${blob.digest} served as ${got.digest} (${got.size} bytes)`);
    } catch (error) {
      problems.push(`${where}: blob ${blob.digest}: ${(error as Error).message}`);
    }
  }
  return problems;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

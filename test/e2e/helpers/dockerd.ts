// A Docker engine of the tests' own (Debian's dockerd 20.10, started by hand as in the clients
// README section 8): its own data root, exec root, socket and CLI config, no iptables, no bridge,
// vfs storage. The docker CLI on PATH talks to it through DOCKER_HOST and DOCKER_CONFIG.
// With `networks`, it also gets a bridge and address pools of its own (for `docker run -p` and
// compose networks), on a random 10.x.0.0/16 that no route on the machine uses yet, and a private
// /run (its own mount namespace), so it shares nothing with another dockerd the tests run at the
// same time: another test file's cleanup of /run/docker and /run/containerd cannot touch it.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon.js';
import { describeFailure, run, runFails, runOk, type RunOptions } from './run.js';
import { readTarFiles } from '../../helpers/tar.js';

export interface DockerEngine {
  readonly daemon: Daemon;
  /** DOCKER_HOST and DOCKER_CONFIG for the CLI. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against this engine; must succeed. Resolves with stdout. */
  docker(args: readonly string[], options?: RunOptions): Promise<string>;
  /** Runs the docker CLI against this engine; must fail. Resolves with everything printed. */
  dockerFails(args: readonly string[], options?: RunOptions): Promise<string>;
  /** The docker CLI with another CLI config directory (e.g. one without any login). */
  withConfig(configDir: string): Pick<DockerEngine, 'docker' | 'dockerFails'>;
  stop(): Promise<void>;
}

export interface DockerdOptions {
  /** Bridge + address pools of its own, and a private /run (see above). */
  networks?: boolean;
  /** Default vfs (always works); overlay2 is much faster for builds where the kernel has it. */
  storageDriver?: 'vfs' | 'overlay2';
  /** dockerd is killed after this long whatever happens (default 15 minutes, as every daemon). */
  maxLifetimeSec?: number;
  /** Merged into daemon.json (e.g. `registry-mirrors`). */
  daemonConfig?: Record<string, unknown>;
}

/** A 10.x.0.0/16 that no route on this machine touches (so also no other dockerd's bridge). */
async function unusedPrivateNet(): Promise<number> {
  const routes = await runOk('ip', ['-4', 'route', 'show', 'table', 'all']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const x = randomInt(64, 250);
    if (!routes.includes(`10.${x}.`)) return x;
  }
  throw new Error('no free 10.x.0.0/16 for a test dockerd');
}

/** Removes the interfaces with an address in 10.x.0.0/16: the bridge and compose's br-* left behind. */
async function removeInterfacesIn(x: number): Promise<void> {
  const lines = (await run('ip', ['-o', '-4', 'addr', 'show', 'to', `10.${x}.0.0/16`])).stdout.toString().split('\n');
  for (const name of new Set(lines.map((line) => line.split(/\s+/)[1]).filter((n): n is string => !!n))) {
    await run('ip', ['link', 'delete', name]);
  }
}

export async function startDockerd(dir: string, options: DockerdOptions = {}): Promise<DockerEngine> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'exec'), { recursive: true });
  await mkdir(join(dir, 'cli'), { recursive: true });
  const socket = join(dir, 'docker.sock');
  const daemonJson = join(dir, 'daemon.json');
  let net: number | undefined;
  let bridge = 'none';
  const pools: Array<{ base: string; size: number }> = [];
  if (options.networks) {
    net = await unusedPrivateNet();
    bridge = `rgt${randomBytes(4).toString('hex')}`;
    await runOk('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await runOk('ip', ['addr', 'add', `10.${net}.0.1/24`, 'dev', bridge]);
    await runOk('ip', ['link', 'set', bridge, 'up']);
    pools.push({ base: `10.${net}.128.0/17`, size: 24 });
  }
  await writeFile(
    daemonJson,
    JSON.stringify({
      iptables: false,
      ip6tables: false,
      bridge,
      ...(pools.length > 0 ? { 'default-address-pools': pools } : {}),
      'storage-driver': options.storageDriver ?? 'vfs',
      // No such flag: only daemon.json keeps dockerd 20.10 from writing /etc/docker/key.json.
      'deprecated-key-path': join(dir, 'key.json'),
      ...options.daemonConfig,
    }),
  );
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'cli') };
  const cli = (configEnv: NodeJS.ProcessEnv) => ({
    docker: (args: readonly string[], options: RunOptions = {}) =>
      runOk('docker', args, { timeoutMs: 120_000, ...options, env: { ...configEnv, ...options.env } }),
    dockerFails: (args: readonly string[], options: RunOptions = {}) =>
      runFails('docker', args, { timeoutMs: 120_000, ...options, env: { ...configEnv, ...options.env } }),
  });
  const dockerdArgs = [
    '--config-file', daemonJson,
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'docker.pid'),
    '-H', `unix://${socket}`,
  ];
  // A tmpfs on /run seen by this dockerd (and its containerd and shims) only.
  const privateRun = ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o mode=755 tmpfs /run && exec "$@"', 'sh', 'dockerd'];
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      name: 'dockerd',
      file: options.networks ? 'unshare' : 'dockerd',
      args: options.networks ? [...privateRun, ...dockerdArgs] : dockerdArgs,
      logFile: join(dir, 'dockerd.log'),
      ready: async () => (await run('docker', ['version'], { env, timeoutMs: 10_000 })).code === 0,
      readyTimeoutMs: 90_000,
      maxLifetimeSec: options.maxLifetimeSec,
    });
  } catch (error) {
    if (net !== undefined) await removeInterfacesIn(net);
    throw error;
  }
  return {
    daemon,
    env,
    ...cli(env),
    withConfig: (configDir) => cli({ ...env, DOCKER_CONFIG: configDir }),
    stop: async () => {
      try {
        await daemon.stop(30_000);
      } finally {
        if (net !== undefined) await removeInterfacesIn(net);
      }
    },
  };
}

/** `docker push` output ends with `<tag>: digest: sha256:... size: N`. */
export function pushedDigest(output: string): string {
  const match = /digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(output);
  if (!match) throw new Error(`no digest in docker push output:\n${output}`);
  return match[1]!;
}

/** Removes every local image (and so every layer), so the next pull must download it all again. */
export async function forgetAllImages(engine: Pick<DockerEngine, 'docker'>): Promise<void> {
  const ids = [...new Set((await engine.docker(['images', '-aq'])).split('\n').filter(Boolean))];
  if (ids.length > 0) await engine.docker(['rmi', '-f', ...ids]);
}

/** The files of an image as a container sees them (docker create + docker export). */
export async function containerFiles(engine: Pick<DockerEngine, 'docker' | 'env'>, ref: string): Promise<Map<string, Buffer>> {
  const id = (await engine.docker(['create', ref, '/bin/sh'])).trim();
  try {
    // Binary output: read the raw stdout, not text.
    const result = await run('docker', ['export', id], { env: engine.env, timeoutMs: 120_000 });
    if (result.code !== 0 || result.timedOut) throw new Error(describeFailure(result));
    return readTarFiles(result.stdout);
  } finally {
    await engine.docker(['rm', id]);
  }
}

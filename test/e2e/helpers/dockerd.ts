// A Docker engine of the tests' own (Debian's dockerd 20.10, started by hand as in the clients
// README section 8): its own data root, exec root, socket and CLI config, no iptables, no bridge,
// vfs storage. The docker CLI on PATH talks to it through DOCKER_HOST and DOCKER_CONFIG.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon.js';
import { run, runFails, runOk, type RunOptions } from './run.js';

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

/** `daemonConfig` is merged into daemon.json (e.g. `registry-mirrors`). */
export async function startDockerd(dir: string, daemonConfig: Record<string, unknown> = {}): Promise<DockerEngine> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'exec'), { recursive: true });
  await mkdir(join(dir, 'cli'), { recursive: true });
  const socket = join(dir, 'docker.sock');
  const daemonJson = join(dir, 'daemon.json');
  await writeFile(
    daemonJson,
    JSON.stringify({
      iptables: false,
      ip6tables: false,
      bridge: 'none',
      'storage-driver': 'vfs',
      // No such flag: only daemon.json keeps dockerd 20.10 from writing /etc/docker/key.json.
      'deprecated-key-path': join(dir, 'key.json'),
      ...daemonConfig,
    }),
  );
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'cli') };
  const cli = (configEnv: NodeJS.ProcessEnv) => ({
    docker: (args: readonly string[], options: RunOptions = {}) =>
      runOk('docker', args, { timeoutMs: 120_000, ...options, env: { ...configEnv, ...options.env } }),
    dockerFails: (args: readonly string[], options: RunOptions = {}) =>
      runFails('docker', args, { timeoutMs: 120_000, ...options, env: { ...configEnv, ...options.env } }),
  });
  const daemon = await startDaemon({
    name: 'dockerd',
    file: 'dockerd',
    args: [
      '--config-file', daemonJson,
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${socket}`,
    ],
    logFile: join(dir, 'dockerd.log'),
    ready: async () => (await run('docker', ['version'], { env, timeoutMs: 10_000 })).code === 0,
    readyTimeoutMs: 90_000,
  });
  return {
    daemon,
    env,
    ...cli(env),
    withConfig: (configDir) => cli({ ...env, DOCKER_CONFIG: configDir }),
    stop: () => daemon.stop(30_000),
  };
}

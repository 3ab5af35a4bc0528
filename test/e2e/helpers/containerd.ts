// A containerd of the tests' own (clients README section 7): its own root, state and sockets, the
// CRI plugin off. `ctr` reaches it through --address, in a namespace of the tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './daemon.js';
import { run, runFails, runOk, type RunOptions, type RunResult } from './run.js';

export interface Containerd {
  readonly daemon: Daemon;
  /** `ctr` against this containerd; must succeed. Resolves with stdout. */
  ctr(args: readonly string[], options?: RunOptions): Promise<string>;
  /** `ctr` against this containerd; must fail. Resolves with everything printed. */
  ctrFails(args: readonly string[], options?: RunOptions): Promise<string>;
  /** `ctr` with binary output (e.g. `content get`). */
  ctrRaw(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startContainerd(dir: string): Promise<Containerd> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = "${join(dir, 'debug.sock')}"
`,
  );
  const base = ['--address', socket, '--namespace', 'e2e'];
  const daemon = await startDaemon({
    name: 'containerd',
    file: 'containerd',
    args: ['--config', config],
    logFile: join(dir, 'containerd.log'),
    ready: async () => (await run('ctr', [...base, 'version'], { timeoutMs: 10_000 })).code === 0,
    readyTimeoutMs: 60_000,
  });
  return {
    daemon,
    ctr: (args, options = {}) => runOk('ctr', [...base, ...args], { timeoutMs: 120_000, ...options }),
    ctrFails: (args, options = {}) => runFails('ctr', [...base, ...args], { timeoutMs: 120_000, ...options }),
    ctrRaw: (args, options = {}) => run('ctr', [...base, ...args], { timeoutMs: 120_000, ...options }),
    stop: () => daemon.stop(30_000),
  };
}

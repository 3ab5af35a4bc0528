// Starts a long-running program (registry, dockerd, containerd, nginx) for one test file, waits
// until it answers, and stops it again. Each daemon runs under coreutils `timeout` in a process
// group of its own, so even a test worker that dies without cleaning up leaves nothing running
// for long, and stopping it can never touch a process the tests did not start. `--foreground`
// makes `timeout` pass a SIGTERM to the daemon once (without it the daemon gets it twice, once
// directly and once through the group, and `registry start` takes a second one as "kill now").
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { recordDaemon } from './machine.js';
import { killGroup, redact, sleep } from './run.js';

export interface DaemonOptions {
  /** Short name for messages, e.g. `dockerd`. */
  name: string;
  file: string;
  args: readonly string[];
  /** stdout and stderr go here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the daemon serves; polled until readyTimeoutMs. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** The daemon is killed after this long whatever happens (default 15 minutes). */
  maxLifetimeSec?: number;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** The last part of the log, for failure messages. */
  logTail(max?: number): string;
  /**
   * SIGTERM, then SIGKILL to the whole group if it has not exited after graceMs. Rejects when
   * the daemon had already died on its own: something went wrong while the tests ran.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'timeout',
      ['--foreground', '--kill-after=10', String(options.maxLifetimeSec ?? 900), options.file, ...options.args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', log, log], detached: true },
    );
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${options.name} (${options.file})`);
  await recordDaemon(pid);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const logTail = (max = 4000): string => {
    try {
      const text = readFileSync(options.logFile, 'utf8');
      return redact(text.length > max ? `...${text.slice(-max)}` : text);
    } catch {
      return '(no log)';
    }
  };
  const daemon: Daemon = {
    name: options.name,
    pid,
    logFile: options.logFile,
    logTail,
    async stop(graceMs = 15_000) {
      if (exited) {
        killGroup(pid, 'SIGKILL');
        throw new Error(
          `${options.name} died while the tests ran (code ${exited.code}, signal ${exited.signal}); log ${options.logFile}:\n${logTail()}`,
        );
      }
      process.kill(pid, 'SIGTERM'); // `timeout` passes it on to the daemon
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        exitPromise.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!gone) {
        killGroup(pid, 'SIGKILL');
        await exitPromise;
      }
      // Helpers the daemon started (containerd shims, nginx workers) share its group.
      killGroup(pid, 'SIGKILL');
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      throw new Error(
        `${options.name} exited before it was ready (code ${exited.code}, signal ${exited.signal}); log ${options.logFile}:\n${logTail()}`,
      );
    }
    let ok = false;
    try {
      ok = await options.ready();
    } catch {
      ok = false;
    }
    if (ok) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop(2000).catch(() => {});
      throw new Error(`${options.name} was not ready after ${options.readyTimeoutMs ?? 60_000} ms; log ${options.logFile}:\n${logTail()}`);
    }
    await sleep(200);
  }
}

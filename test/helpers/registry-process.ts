// `registry start` (gateway + storage) as a user runs it, for the crash and fuzz harnesses: htpasswd
// auth on (a real `htpasswd -Bbc` file), a data directory and a free loopback port for the gateway
// that stays the same across restarts, so a harness can SIGKILL the parent or either child and start it again on
// the same data. The children are found through the parent (/proc), not through a port: how the
// gateway reaches storage is the product's business.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cleanEnv } from '../cli/run-cli.js';
import { freePort, httpStatus } from './net.js';

export const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export type RegistryRole = 'parent' | 'gateway' | 'storage';

export interface RegistrySetup {
  /** A directory the registry may own: data/, auth/, tmp/, registry.log. */
  dir: string;
  root: string;
  httpPort: number;
  user: string;
  password: string;
  htpasswdPath: string;
  /** TMPDIR and cwd of the registry: the harnesses check that nothing is written there. */
  scratchDir: string;
  logFile: string;
  env: Record<string, string>;
}

export async function prepareRegistry(dir: string, extraEnv: Record<string, string> = {}): Promise<RegistrySetup> {
  const root = join(dir, 'data');
  const htpasswdPath = join(dir, 'auth', 'htpasswd');
  const scratchDir = join(dir, 'scratch');
  await mkdir(root, { recursive: true });
  await mkdir(join(dir, 'auth'), { recursive: true });
  await mkdir(scratchDir, { recursive: true });
  const user = 'harness';
  const password = randomBytes(12).toString('base64url');
  await promisify(execFile)('htpasswd', ['-Bbc', htpasswdPath, user, password]);
  const httpPort = await freePort();
  // Storage's address is left to the product (a port the system picks, passed to the gateway).
  const env: Record<string, string> = {
    REGISTRY_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: root,
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: 'harness',
    REGISTRY_AUTH_HTPASSWD_PATH: htpasswdPath,
    REGISTRY_LOG_LEVEL: 'info',
    ...extraEnv,
  };
  return { dir, root, httpPort, user, password, htpasswdPath, scratchDir, logFile: join(dir, 'registry.log'), env };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    return { pid, ppid: Number(fields[1]), argv };
  } catch {
    return undefined;
  }
}

/** Live processes whose parent is `ppid` (a scan of /proc: `ps --ppid` without ps). */
export function childrenOf(ppid: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcess(Number(entry));
    if (info?.ppid === ppid) found.push(info);
  }
  return found;
}

/** True while `pid` runs the same program as when it was recorded (guards against pid reuse). */
function stillSame(info: ProcessInfo): boolean {
  const now = readProcess(info.pid);
  return now !== undefined && now.argv.join('\0') === info.argv.join('\0') && !isZombie(info.pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One run of `registry start`; a restart is a new RegistryProcess on the same setup. */
export class RegistryProcess {
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  /** The children as first seen, so they can still be killed after the parent is gone. */
  private known: Record<'gateway' | 'storage', ProcessInfo | undefined> = { gateway: undefined, storage: undefined };

  private constructor(
    readonly setup: RegistrySetup,
    private readonly child: ChildProcess,
    /** Where this run's lines start in the log file (restarts append to it). */
    private readonly logStart: number,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
    });
  }

  /**
   * Spawns `registry start` and waits until the gateway answers an authenticated GET /v2/ with
   * 200 and `registry start` has said it listens (its own probe of the gateway is then answered,
   * so it is not counted in a test's metrics or logs afterwards).
   */
  static async start(setup: RegistrySetup, readyTimeoutMs = 60_000): Promise<RegistryProcess> {
    const logStart = existsSync(setup.logFile) ? statSync(setup.logFile).size : 0;
    const log = openSync(setup.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [CLI_PATH, 'start'], {
        cwd: setup.scratchDir,
        env: cleanEnv({ TMPDIR: setup.scratchDir, ...setup.env }),
        stdio: ['ignore', log, log],
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    const registry = new RegistryProcess(setup, child, logStart);
    try {
      await registry.waitReady(readyTimeoutMs);
    } catch (error) {
      await registry.stop(5000);
      throw error;
    }
    return registry;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  /** The gateway and storage children, by the service name on their command line. */
  children(): Record<'gateway' | 'storage', ProcessInfo | undefined> {
    if (this.running) {
      for (const info of childrenOf(this.pid)) {
        const role = info.argv.includes('storage') ? 'storage' : info.argv.includes('gateway') ? 'gateway' : undefined;
        if (role) this.known[role] = info;
      }
    }
    return {
      gateway: this.known.gateway && stillSame(this.known.gateway) ? this.known.gateway : undefined,
      storage: this.known.storage && stillSame(this.known.storage) ? this.known.storage : undefined,
    };
  }

  /** Whether the parent and both children are alive. */
  healthy(): boolean {
    const { gateway, storage } = this.children();
    return this.running && gateway !== undefined && storage !== undefined;
  }

  private saidListening(): boolean {
    return readFileSync(this.setup.logFile).subarray(this.logStart).includes('registry listening on');
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const url = `http://127.0.0.1:${this.setup.httpPort}/v2/`;
    const authorization = basicAuth(this.setup.user, this.setup.password);
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`registry start exited before it was ready (${JSON.stringify(this.exit)}); log ${this.setup.logFile}`);
      if ((await httpStatus(url, { authorization })) === 200 && this.healthy() && this.saidListening()) return;
      await sleep(50);
    }
    throw new Error(`registry start not ready after ${timeoutMs} ms; log ${this.setup.logFile}`);
  }

  /** SIGKILL of one process; returns its pid (undefined when that process was not found). */
  kill(role: RegistryRole): number | undefined {
    const target = role === 'parent' ? (this.running ? this.pid : undefined) : this.children()[role]?.pid;
    if (target === undefined) return undefined;
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      return undefined;
    }
    return target;
  }

  /**
   * Waits until the parent and both children are gone (the parent stops the other child when one
   * dies; the children stop when the parent's IPC channel closes). Whatever is still alive after
   * `graceMs` is SIGKILLed; returns the roles that had to be killed that way.
   */
  async waitAllGone(graceMs: number): Promise<RegistryRole[]> {
    this.children();
    const deadline = Date.now() + graceMs;
    const alive = (): RegistryRole[] => {
      const { gateway, storage } = this.children();
      return [...(this.running ? (['parent'] as const) : []), ...(gateway ? (['gateway'] as const) : []), ...(storage ? (['storage'] as const) : [])];
    };
    while (Date.now() < deadline && alive().length > 0) await sleep(25);
    const lingering = alive();
    for (const role of lingering) this.kill(role);
    if (lingering.includes('parent')) await this.exited;
    while (alive().length > 0) await sleep(25);
    return lingering;
  }

  /** SIGTERM to the parent (a clean stop of both), SIGKILL of everything after graceMs. */
  async stop(graceMs = 20_000): Promise<RegistryRole[]> {
    this.children();
    if (this.running) this.child.kill('SIGTERM');
    return await this.waitAllGone(graceMs);
  }

  /** The end of the registry's log, for messages. */
  logTail(max = 3000): string {
    try {
      const text = readFileSync(this.setup.logFile, 'utf8');
      return text.length > max ? `...${text.slice(-max)}` : text;
    } catch {
      return '(no log)';
    }
  }
}


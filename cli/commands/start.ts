// `registry start`: the storage process, then the gateway, as child processes of this one.
// Signals are passed on; if either child dies on its own, the other is stopped too.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseListenAddress, displayUrl, type ListenAddress } from '../../common/config/address.js';
import type { RegistryConfig } from '../../common/config/types.js';
import { loadForCommand, printWarnings } from '../config-loading.js';
import { CommandError, CONFIG_HELP, CONFIG_OPTION, parseCommandLine } from '../usage.js';
import { waitUntilAnswering } from '../wait-http.js';
import { WARNINGS_SHOWN_FLAG, type ReadyMessage, type Service } from './serve.js';

const HELP = `Usage: registry start [--config FILE]

Runs the registry: starts the storage service (storageservice.addr, default a free loopback
port), waits until it listens, then starts the gateway (http.addr, default :5000). Storage
answers only requests carrying a token shared with the gateway (storageservice.token or
http.secret, else a random one made for this run). Both are child processes of this one;
SIGINT/SIGTERM stop both gracefully: the gateway stops taking connections and serves the
requests on open ones for up to http.draintimeout (default 30s), then storage stops; a second
signal kills both at once. Configuration as registry:2: config.yml and REGISTRY_* environment
variables (see \`registry config check\`).

Options:
${CONFIG_HELP}
  -h, --help          show this help
`;

const MAIN_SCRIPT = fileURLToPath(new URL('../main.js', import.meta.url));
const STARTUP_TIMEOUT_MS = 60_000;
/** What a process may take beyond http.draintimeout to stop before it is killed. */
const STOP_MARGIN_MS = 10_000;

interface Child {
  service: Service;
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running: boolean;
  /** The addresses it listens on, once it said so over IPC. */
  ready: Promise<string[]>;
}

export async function startCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine('start', args, CONFIG_OPTION, HELP);
  if (!parsed) return 0;
  const { config, warnings, configPath } = loadForCommand(parsed.values.config);
  printWarnings(warnings);
  const storageAddress = parseListenAddress(config.storageservice.addr);
  const gatewayAddress = parseListenAddress(config.http.addr);
  checkDistinctAddresses(config, storageAddress, gatewayAddress);

  const childArgs = [...(configPath !== undefined ? ['--config', configPath] : []), WARNINGS_SHOWN_FLAG];
  // Storage answers only the gateway, whatever it listens on: without a configured token, one
  // made for this run. It reaches the children through their environment (readable only by this
  // user and root), never their command line (which \`ps\` shows everyone).
  const tokenEnv: NodeJS.ProcessEnv =
    config.storageservice.token === undefined ? { REGISTRY_STORAGESERVICE_TOKEN: randomBytes(32).toString('base64url') } : {};
  let storageAddr = config.storageservice.addr;
  const children: Child[] = [];
  let stopRequested = false;
  let failure: string | undefined;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const child of children) if (child.running) child.process.kill(signal);
  };
  let stopTimer: NodeJS.Timeout | undefined;
  const killAfter = (ms: number, what: string) => {
    if (stopTimer) clearTimeout(stopTimer);
    stopTimer = setTimeout(() => {
      process.stderr.write(`registry: ${what} still running ${Math.round(ms / 1000)}s after the stop; killing the services\n`);
      stopAll('SIGKILL');
    }, ms);
    stopTimer.unref();
  };
  // Graceful stop: the gateway drains first (no new connections, requests on open ones served
  // for up to http.draintimeout), storage serves it meanwhile, and is stopped once it is gone.
  const requestStop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      process.stderr.write(`registry: ${signal} again, killing the services\n`);
      stopAll('SIGKILL');
      return;
    }
    stopRequested = true;
    const gateway = children.find((c) => c.service === 'gateway' && c.running);
    const stopStorage = () => {
      for (const child of children) if (child.service === 'storage' && child.running) child.process.kill(signal);
      killAfter(config.http.draintimeoutMs + STOP_MARGIN_MS, 'storage');
    };
    if (!gateway) return stopStorage();
    gateway.process.kill(signal);
    killAfter(config.http.draintimeoutMs + STOP_MARGIN_MS, 'the gateway');
    void gateway.exited.then(stopStorage);
  };
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGTERM', () => requestStop('SIGTERM'));

  const launch = (service: Service): Child => {
    // Own process group: a Ctrl-C in the terminal reaches only this process, which passes it on
    // once (the children would otherwise take a second SIGINT as "exit now").
    const env =
      service === 'storage'
        ? { ...storageEnvironment(), ...tokenEnv }
        : { ...gatewayEnvironment(), ...tokenEnv, REGISTRY_STORAGESERVICE_ADDR: storageAddr };
    const proc = spawn(process.execPath, [...nodeFlags(service), MAIN_SCRIPT, service, ...childArgs], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env,
      detached: true,
    });
    let settle: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void = () => undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => (settle = resolve));
    const ready = new Promise<string[]>((resolve, reject) => {
      proc.on('message', (message: Partial<ReadyMessage>) => {
        if (message.ready === service && Array.isArray(message.urls)) resolve(message.urls);
      });
      void exited.then(() => reject(new Error('the process exited before it listened')));
    });
    ready.catch(() => undefined);
    const child: Child = { service, process: proc, running: true, exited, ready };
    const onExit = (code: number | null, signal: NodeJS.Signals | null, why: string) => {
      if (!child.running) return;
      child.running = false;
      if (!stopRequested) {
        failure ??= `${service} ${why}`;
        const others = children.filter((c) => c.running).map((c) => c.service);
        process.stderr.write(`registry: ${failure}${others.length > 0 ? `; stopping ${others.join(' and ')}` : ''}\n`);
        requestStop('SIGTERM');
      }
      settle({ code, signal });
    };
    proc.on('exit', (code, signal) => onExit(code, signal, `exited unexpectedly (${describeExit(code, signal)})`));
    proc.on('error', (error) => {
      if (proc.pid === undefined) onExit(null, null, `could not be started: ${error.message}`);
    });
    children.push(child);
    return child;
  };

  try {
    const storage = launch('storage');
    storageAddr = configAddressOf(await withTimeout(storage.ready, STARTUP_TIMEOUT_MS));
    if (stopRequested) throw new Error('stopped');
    const gateway = launch('gateway');
    const tlsOnHttpAddr = config.http.tls !== undefined && config.http.tls.addr === undefined;
    await waitUntilAnswering(gatewayAddress, { tls: tlsOnHttpAddr, timeoutMs: STARTUP_TIMEOUT_MS, stillRunning: () => gateway.running && !stopRequested });
    process.stderr.write(`${listeningLine(config, gatewayAddress, storageAddr)}\n`);
  } catch (error) {
    if (!stopRequested) {
      const starting = children[children.length - 1]?.service ?? 'storage';
      failure ??= `${starting} did not start: ${(error as Error).message}`;
      process.stderr.write(`registry: ${failure}\n`);
      requestStop('SIGTERM');
    }
  }

  const exits = await Promise.all(children.map((child) => child.exited));
  if (stopTimer) clearTimeout(stopTimer);
  if (failure !== undefined) return 1;
  const clean = exits.every(({ code, signal }) => code === 0 || signal === 'SIGTERM' || signal === 'SIGINT');
  process.stderr.write(clean ? 'registry: stopped\n' : 'registry: stopped, but a service did not exit cleanly\n');
  return clean ? 0 : 1;
}

/** `http://127.0.0.1:40123` (what storage reports) -> `127.0.0.1:40123` (what the gateway reads). */
function configAddressOf(urls: string[]): string {
  const url = urls[0];
  if (url === undefined) throw new Error('storage reported no address');
  return url.startsWith('unix:') ? url : new URL(url).host;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not listening after ${Math.round(ms / 1000)}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exit code ${code}`;
}

/** Both processes run on this machine: they cannot listen on the same socket. */
function checkDistinctAddresses(config: RegistryConfig, storage: ListenAddress, gateway: ListenAddress): void {
  const listeners = [gateway, ...(config.http.tls?.addr !== undefined ? [parseListenAddress(config.http.tls.addr)] : [])];
  for (const listener of listeners) {
    const clash = sameListener(listener, storage);
    if (clash) {
      throw new CommandError(
        `storageservice.addr (${config.storageservice.addr}) and the gateway's address (${displayUrl(listener, 'http')}) are the same; ` +
          'give them different ports (REGISTRY_STORAGESERVICE_ADDR, REGISTRY_HTTP_ADDR)',
      );
    }
  }
}

function sameListener(a: ListenAddress, b: ListenAddress): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') return a.kind === 'unix' && b.kind === 'unix' && a.path === b.path;
  const everywhere = (host: string) => host === '' || host === '0.0.0.0' || host === '::';
  return a.port === b.port && a.port !== 0 && (a.host === b.host || everywhere(a.host) || everywhere(b.host));
}

function listeningLine(config: RegistryConfig, gateway: ListenAddress, storageAddr: string): string {
  const tls = config.http.tls;
  const urls =
    tls === undefined
      ? displayUrl(gateway, 'http')
      : tls.addr === undefined
        ? displayUrl(gateway, 'https')
        : `${displayUrl(parseListenAddress(tls.addr), 'https')} and ${displayUrl(gateway, 'http')}`;
  const htpasswd = config.auth?.htpasswd;
  const auth = htpasswd ? `htpasswd ${htpasswd.path}` : 'none';
  return `registry listening on ${urls} (storage on ${storageAddr}, data in ${config.storage.s3 ? `s3://${config.storage.s3.bucket}/${config.storage.s3.rootdirectory.replace(/^\/+/, '')}` : config.storage.filesystem.rootdirectory}, auth: ${auth})`;
}

// Storage: a 4 MiB young generation (V8's default is 16) and a heap growing factor of 1.3
// (V8 lets the old generation reach up to 4x what the last full GC kept on a machine with
// gigabytes of RAM). Under 20 clients PUTting 1-4 MiB hostile manifests its heap reached 108 MiB
// before a full GC left 34; with 32 clients, RSS ~80 against ~105 MiB. Not a cap.
// The gateway keeps V8's defaults: with the same flags every chunk of a big transfer it relays
// was promoted and collected by full GCs, 0.8 instead of 0.3 CPU-s of user time per 256 MiB
// (measured on an S3 pull), for about the same peak RSS on that transfer (123-128 against
// 114-124 MiB). Storage relays no download (file and URL handoff), so it keeps its flags.
export function nodeFlags(service: Service): string[] {
  return service === 'storage' ? ['--max-semi-space-size=4', '--heap-growing-percent=30'] : [];
}

// Both processes move big bodies in 64 KiB socket reads. glibc must take those from its heap and
// keep the freed ones for the next reads: mmapped (a 64 KiB mmap threshold, as before) or given
// back at once (the default 128 KiB trim threshold), every read faulted in 16 fresh zeroed pages,
// ~300k page faults and 0.45 CPU-s of kernel time per 256 MiB in each process (now ~0). Buffers
// of 1 MiB and more (big manifest bodies) are still mmapped, so the heap never holds them.
// Two malloc arenas instead of one per busy thread: the memory freed after big transfers is
// reused instead of kept per thread (peak RSS ~90 -> ~80 MiB under 32 clients).
const MALLOC_ENVIRONMENT = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024),
};

function mallocEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(MALLOC_ENVIRONMENT).map(([name, value]) => [name, process.env[name] ?? value]));
}

// Storage waits on fsync and file I/O for many layers at once: libuv's default of 4 threads
// would queue them. The pool size is read when the pool starts, so it must be in the environment.
export function storageEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16',
    ...mallocEnvironment(),
  };
}

export function gatewayEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, ...mallocEnvironment() };
}

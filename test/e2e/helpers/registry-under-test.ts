// The registry the e2e tests talk to: this project's gateway + storage, started through the CLI
// exactly as a user would (`registry start`, configured like registry:2 by REGISTRY_* variables),
// on free loopback ports with a temporary root directory and a real bcrypt htpasswd file.
//
// E2E_REGISTRY=reference runs the same tests against Debian's docker-registry (CNCF distribution,
// the program inside registry:2) to tell a client quirk from a bug of ours; it is a debugging aid,
// the suite itself always runs against this project.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, type Daemon } from './daemon.js';
import { freePort, httpStatus } from '../../helpers/net.js';
import { registerSecret, runOk } from './run.js';

export interface RegistryUnderTest {
  readonly kind: 'ours' | 'reference';
  /** Gateway HTTP port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`, the direct address clients use. */
  readonly host: string;
  readonly rootDir: string;
  readonly htpasswdPath: string;
  readonly realm: string;
  readonly user: string;
  readonly password: string;
  readonly logFile: string;
  /** The daemon's process group (kill -PID stops gateway and storage at once). */
  readonly pid: number;
  logTail(max?: number): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** A fresh directory this registry may own. */
  dir: string;
  /** REGISTRY_HTTP_TRUSTEDPROXIES, e.g. ['127.0.0.1'] when nginx is in front. */
  trustedProxies?: string[];
  /** More REGISTRY_* variables, e.g. REGISTRY_ACCESS_PATH. */
  env?: Record<string, string>;
}

/** The one switch between the registry the suite tests and the reference implementation. */
export async function startRegistryUnderTest(options: RegistryOptions): Promise<RegistryUnderTest> {
  const start = process.env.E2E_REGISTRY === 'reference' ? startReferenceRegistry : startOurRegistry;
  // A port picked as free can be taken by someone else before the registry binds it: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(options);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test(String(error))) throw error;
    }
  }
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Prepared {
  port: number;
  rootDir: string;
  htpasswdPath: string;
  realm: string;
  user: string;
  password: string;
  env: NodeJS.ProcessEnv;
}

/** Ports, directories, htpasswd file and the REGISTRY_* environment both kinds are started with. */
async function prepare(options: RegistryOptions): Promise<Prepared> {
  const port = await freePort();
  const rootDir = join(options.dir, 'data');
  const htpasswdPath = join(options.dir, 'auth', 'htpasswd');
  await mkdir(rootDir, { recursive: true });
  await mkdir(dirname(htpasswdPath), { recursive: true });
  const user = 'e2e-user';
  const password = randomBytes(12).toString('base64url');
  registerSecret(password);
  // The real tool, bcrypt (-B) as registry:2 requires; -b takes the password from argv.
  await runOk('htpasswd', ['-Bbc', htpasswdPath, user, password], { timeoutMs: 10_000 });
  const realm = 'e2e-realm';
  const env: NodeJS.ProcessEnv = {
    REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: rootDir,
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: realm,
    REGISTRY_AUTH_HTPASSWD_PATH: htpasswdPath,
  };
  if (options.trustedProxies?.length) env.REGISTRY_HTTP_TRUSTEDPROXIES = options.trustedProxies.join(',');
  Object.assign(env, options.env);
  return { port, rootDir, htpasswdPath, realm, user, password, env };
}

async function startOurRegistry(options: RegistryOptions): Promise<RegistryUnderTest> {
  const cli = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build the project first (npm run build)`);
  const prepared = await prepare(options);
  const storagePort = await freePort();
  const daemon = await startDaemon({
    name: 'registry (gateway + storage)',
    file: process.execPath,
    args: [cli, 'start'],
    cwd: REPO_ROOT,
    logFile: join(options.dir, 'registry.log'),
    env: { ...prepared.env, REGISTRY_STORAGESERVICE_ADDR: `127.0.0.1:${storagePort}`, REGISTRY_LOG_LEVEL: 'info' },
    ready: () => answersUnauthorized(prepared.port),
    readyTimeoutMs: 30_000,
  });
  return describe('ours', prepared, daemon);
}

async function startReferenceRegistry(options: RegistryOptions): Promise<RegistryUnderTest> {
  const prepared = await prepare(options);
  // Everything comes from the REGISTRY_* variables; distribution only insists on a file.
  const config = join(options.dir, 'config.yml');
  await writeFile(config, 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: /nonexistent\n');
  const daemon = await startDaemon({
    name: 'reference registry (docker-registry)',
    file: 'docker-registry',
    args: ['serve', config],
    logFile: join(options.dir, 'registry.log'),
    env: prepared.env,
    ready: () => answersUnauthorized(prepared.port),
    readyTimeoutMs: 30_000,
  });
  return describe('reference', prepared, daemon);
}

async function answersUnauthorized(port: number): Promise<boolean> {
  return (await httpStatus(`http://127.0.0.1:${port}/v2/`)) === 401;
}

function describe(kind: 'ours' | 'reference', prepared: Prepared, daemon: Daemon): RegistryUnderTest {
  return {
    kind,
    port: prepared.port,
    host: `127.0.0.1:${prepared.port}`,
    rootDir: prepared.rootDir,
    htpasswdPath: prepared.htpasswdPath,
    realm: prepared.realm,
    user: prepared.user,
    password: prepared.password,
    logFile: daemon.logFile,
    pid: daemon.pid,
    logTail: (max) => daemon.logTail(max),
    stop: () => daemon.stop(),
  };
}

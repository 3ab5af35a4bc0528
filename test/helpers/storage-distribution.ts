// The real registry:2 (Debian's `docker-registry`, CNCF distribution 2.8) for compatibility
// tests: anonymous, delete enabled, filesystem storage on a given root directory, listening on a
// free loopback port, as /work/shared/bench/anchor/start-distribution.sh --no-auth --no-nginx
// starts it. Stopped with SIGTERM (SIGKILL if it lingers).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './net.js';

export interface Distribution {
  url: string;
  root: string;
  /** What the registry logged so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface DistributionOptions {
  /** Accept docker schema 1 manifests (`compatibility.schema1.enabled`), as registries that served old clients did. */
  schema1?: boolean;
  /** Replaces the filesystem driver's lines of config.yml (e.g. an `s3:` section, indented under `storage:`). */
  storage?: string[];
  /** Lines appended to config.yml. */
  extraConfig?: string[];
}

/** Starts registry:2 over `root`; its config and log go to `workDir`. */
export async function startDistribution(root: string, workDir: string, options: DistributionOptions = {}): Promise<Distribution> {
  await mkdir(workDir, { recursive: true });
  await mkdir(root, { recursive: true });
  // A port can be taken between freePort and the bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(root, workDir, await freePort(), options);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(root: string, workDir: string, port: number, options: DistributionOptions): Promise<Distribution> {
  const configPath = join(workDir, 'config.yml');
  const logPath = join(workDir, 'registry.log');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  fields:',
      '    service: registry',
      'storage:',
      ...(options.storage ?? ['  filesystem:', `    rootdirectory: ${root}`]),
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      ...(options.schema1 ? ['compatibility:', '  schema1:', '    enabled: true'] : []),
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  const logFile = await open(logPath, 'a');
  // registry:2's AWS SDK panics on AWS_CA_BUNDLE with its own transport (s3 driver): not passed.
  const { AWS_CA_BUNDLE: _caBundle, ...env } = process.env;
  const child = spawn('docker-registry', ['serve', configPath], {
    env,
    stdio: ['ignore', logFile.fd, logFile.fd],
  });
  const spawnError = once(child, 'error').then(([err]) => {
    throw new Error(`cannot run docker-registry (apt-get install docker-registry): ${(err as Error).message}`);
  });
  spawnError.catch(() => undefined);
  await logFile.close();
  const exited = once(child, 'exit').catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFile(logPath, 'utf8').catch(() => '');
  const stop = () => stopChild(child, exited);
  try {
    await Promise.race([waitReady(url, child), spawnError]);
  } catch (err) {
    await stop();
    throw new Error(`registry:2 did not start: ${(err as Error).message}\n${(await log()).slice(-2000)}`);
  }
  return { url, root, log, stop };
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return; // 401: up, with auth (extraConfig)
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out');
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

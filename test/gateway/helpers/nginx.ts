// Debian's nginx in front of the gateway, with the site from nginx-compat/registry.conf: the
// same file users install, with only the listen address and the upstream port filled in.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isListening } from '../../helpers/net.js';
import { REPO_ROOT } from './certs.js';

export const NGINX = '/usr/sbin/nginx';

export interface RunningNginx {
  url: string;
  port: number;
  dir: string;
  errorLog(): Promise<string>;
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/** registry.conf with the gateway's port in the upstream and a loopback listen port. */
export async function siteConfig(gatewayPort: number, listenPort: number): Promise<string> {
  const site = await readFile(join(REPO_ROOT, 'nginx-compat', 'registry.conf'), 'utf8');
  const upstream = site.replace(/server 127\.0\.0\.1:5000;/, `server 127.0.0.1:${gatewayPort};`);
  const listening = upstream.replace(/listen 80;/, `listen 127.0.0.1:${listenPort};`);
  if (listening === site || upstream === site || listening === upstream) {
    throw new Error('nginx-compat/registry.conf no longer has the "server 127.0.0.1:5000;" and "listen 80;" lines this test fills in');
  }
  return listening;
}

export async function startNginx(gatewayPort: number): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'nginx-compat-'));
  const port = await freePort();
  const site = await siteConfig(gatewayPort, port);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const paths = {
    pid: join(dir, 'nginx.pid'),
    error: join(dir, 'error.log'),
    access: join(dir, 'access.log'),
    conf: join(dir, 'nginx.conf'),
  };
  // As root, nginx's workers would otherwise run as nobody and could not use the private temp dir.
  const userLine = process.getuid?.() === 0 ? 'user root;\n' : '';
  await writeFile(
    paths.conf,
    `${userLine}worker_processes 1;
pid ${paths.pid};
error_log ${paths.error} info;
events { worker_connections 512; }
http {
  access_log ${paths.access};
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
${site}
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', paths.conf, '-e', paths.error, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, child, () => stderr);
  } catch (err) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    errorLog: () => readFile(paths.error, 'utf8').catch(() => ''),
    accessLog: () => readFile(paths.access, 'utf8').catch(() => ''),
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGQUIT'); // graceful: the master stops its workers
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr()}`);
    if (await isListening('127.0.0.1', port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${stderr()}`);
}


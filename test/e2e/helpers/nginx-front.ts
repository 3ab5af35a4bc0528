// Debian's nginx on 127.0.0.1:80 under the name docker-registry.home, in front of the gateway,
// with the project's nginx-compat/registry.conf site. Everything nginx writes stays in the given
// directory.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';
import { REGISTRY_HOST_NAME } from './machine.js';
import { httpStatus, isListening } from '../../helpers/net.js';
import { REPO_ROOT } from './registry-under-test.js';
import { runOk } from './run.js';

export interface NginxFront {
  /** The name clients use: port 80, so no port in the reference. */
  readonly host: string;
  readonly accessLog: string;
  readonly errorLog: string;
  accessLogText(): Promise<string>;
  stop(): Promise<void>;
}

/** `upstreamPorts`: several gateways behind nginx, round-robin (the S3 replicas test). */
export async function startNginxFront(options: { dir: string; upstreamPort: number; upstreamPorts?: number[] }): Promise<NginxFront> {
  if (await isListening('127.0.0.1', 80)) {
    throw new Error('something already listens on 127.0.0.1:80; the e2e tests need port 80 for nginx');
  }
  const { dir } = options;
  await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711); // nginx creates its temp dirs inside for its unprivileged workers
  const accessLog = join(dir, 'access.log');
  const errorLog = join(dir, 'error.log');
  const config = join(dir, 'nginx.conf');
  await writeFile(config, nginxConfig({ dir, accessLog, errorLog, site: await siteConfig(options.upstreamPort, options.upstreamPorts) }));
  await runOk('nginx', ['-t', '-q', '-e', errorLog, '-c', config], { timeoutMs: 10_000 });
  const daemon = await startDaemon({
    name: 'nginx',
    file: 'nginx',
    args: ['-e', errorLog, '-c', config, '-g', 'daemon off;'],
    logFile: join(dir, 'nginx.out'),
    ready: async () => (await httpStatus('http://127.0.0.1:80/v2/', { host: REGISTRY_HOST_NAME })) === 401,
    readyTimeoutMs: 15_000,
  });
  return {
    host: REGISTRY_HOST_NAME,
    accessLog,
    errorLog,
    accessLogText: () => readFile(accessLog, 'utf8'),
    stop: () => daemon.stop(),
  };
}

/** nginx.conf: a test-local frame (pid, logs, temp dirs) around the project's own site file. */
function nginxConfig(o: { dir: string; accessLog: string; errorLog: string; site: string }): string {
  const tmp = join(o.dir, 'tmp');
  return `worker_processes 1;
pid ${join(o.dir, 'nginx.pid')};
error_log ${o.errorLog} info;
events { worker_connections 256; }
http {
  access_log ${o.accessLog};
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;

${o.site}
}
`;
}

export const SITE_FILE = join(REPO_ROOT, 'nginx-compat', 'registry.conf');

/**
 * nginx-compat/registry.conf as users install it, with only the upstream port changed (the
 * gateway listens on a free port) and the listener kept on loopback port 80.
 */
export async function siteConfig(upstreamPort: number, more: number[] = []): Promise<string> {
  const site = await readFile(SITE_FILE, 'utf8');
  const upstream = /server\s+127\.0\.0\.1:5000\s*;/;
  const listen = /listen\s+80\s*;/;
  if (!upstream.test(site) || !listen.test(site)) {
    throw new Error(`${SITE_FILE} no longer has "server 127.0.0.1:5000;" and "listen 80;": update the e2e template`);
  }
  const servers = [upstreamPort, ...more.filter((port) => port !== upstreamPort)].map((port) => `server 127.0.0.1:${port};`).join(' ');
  return site.replace(upstream, servers).replace(listen, 'listen 127.0.0.1:80;');
}

// Debian's nginx on 127.0.0.1:80 under the name docker-registry.home, in front of the gateway,
// the way registry:2 users run it. Everything nginx writes stays in the given directory.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';
import { REGISTRY_HOST_NAME } from './machine.js';
import { httpStatus, isListening } from './net.js';
import { runOk } from './run.js';

export interface NginxFront {
  /** The name clients use: port 80, so no port in the reference. */
  readonly host: string;
  readonly accessLog: string;
  readonly errorLog: string;
  accessLogText(): Promise<string>;
  stop(): Promise<void>;
}

export async function startNginxFront(options: { dir: string; upstreamPort: number }): Promise<NginxFront> {
  if (await isListening('127.0.0.1', 80)) {
    throw new Error('something already listens on 127.0.0.1:80; the e2e tests need port 80 for nginx');
  }
  const { dir } = options;
  await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711); // nginx creates its temp dirs inside for its unprivileged workers
  const accessLog = join(dir, 'access.log');
  const errorLog = join(dir, 'error.log');
  const config = join(dir, 'nginx.conf');
  await writeFile(config, nginxConfig({ dir, accessLog, errorLog, upstreamPort: options.upstreamPort }));
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

function nginxConfig(o: { dir: string; accessLog: string; errorLog: string; upstreamPort: number }): string {
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

${serverBlock(o.upstreamPort)}
}
`;
}

/** The usual registry:2 front (README of the clients, section 2). */
function serverBlock(upstreamPort: number): string {
  return `  upstream docker-registry {
    server 127.0.0.1:${upstreamPort};
  }

  server {
    listen 127.0.0.1:80;
    server_name ${REGISTRY_HOST_NAME};

    client_max_body_size 0;
    chunked_transfer_encoding on;
    proxy_request_buffering off;

    location /v2/ {
      proxy_pass                          http://docker-registry;
      proxy_set_header  Host              $http_host;
      proxy_set_header  X-Real-IP         $remote_addr;
      proxy_set_header  X-Forwarded-For   $proxy_add_x_forwarded_for;
      proxy_set_header  X-Forwarded-Proto $scheme;
      proxy_read_timeout                  900;
    }
  }`;
}

// Where storage is and the keep-alive connection pool to it. A big pool, because every layer
// of every concurrent push or pull holds one connection for its whole transfer.
import http from 'node:http';
import https from 'node:https';
import { connectTarget, parseListenAddress } from '../common/config/address.js';
import type { RegistryConfig } from '../common/config/types.js';

export interface UpstreamTarget {
  protocol: 'http:' | 'https:';
  /** With socketPath, only a placeholder (Node then ignores host and port). */
  host: string;
  port: number;
  /** Path prefix of `storageservice.url`, without a trailing slash. */
  path?: string;
  socketPath?: string;
}

export interface Upstream {
  target: UpstreamTarget;
  agent: http.Agent;
  /** For logs: `http://127.0.0.1:5001` or `unix:/run/registry/storage.sock`. */
  description: string;
  close(): void;
}

export const UPSTREAM_POOL = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64 } as const;

export function createUpstream(storage: RegistryConfig['storageservice']): Upstream {
  const target = targetOf(storage);
  const agent = target.protocol === 'https:' ? new https.Agent(UPSTREAM_POOL) : new http.Agent(UPSTREAM_POOL);
  const description = target.socketPath
    ? `unix:${target.socketPath}`
    : `${target.protocol}//${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.path ?? ''}`;
  return { target, agent, description, close: () => agent.destroy() };
}

export function targetOf(storage: Pick<RegistryConfig['storageservice'], 'addr' | 'url'>): UpstreamTarget {
  if (storage.url) {
    const url = new URL(storage.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`storageservice.url: ${JSON.stringify(storage.url)} must be an http or https URL`);
    }
    return {
      protocol: url.protocol,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      path: url.pathname.replace(/\/+$/, ''),
    };
  }
  let address;
  try {
    address = parseListenAddress(storage.addr.trim());
  } catch (err) {
    throw new Error(`storageservice.addr: ${(err as Error).message}`);
  }
  if (address.kind === 'tcp' && address.port === 0) {
    throw new Error(
      'storageservice.addr: port 0 means "a port chosen at start", which only `registry start` can tell the gateway; ' +
        'set REGISTRY_STORAGESERVICE_ADDR (or REGISTRY_STORAGESERVICE_URL) to where storage listens',
    );
  }
  const to = connectTarget(address);
  return 'socketPath' in to ? { protocol: 'http:', host: 'localhost', port: 80, socketPath: to.socketPath } : { protocol: 'http:', ...to };
}

/** A small GET to storage beside the proxied traffic (no body); resolves with the answer's headers. */
export function askStorage(upstream: Upstream, path: string, headers: Record<string, string>, timeoutMs = 5000): Promise<http.IncomingHttpHeaders> {
  const { target, agent } = upstream;
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      { ...target, path: `${target.path ?? ''}${path}`, agent, headers, timeout: timeoutMs },
      (res) => {
        res.destroy(); // only the headers are wanted
        resolve(res.headers);
      },
    );
    req.on('timeout', () => req.destroy(new Error('storage did not answer in time')));
    req.on('error', reject);
    req.end();
  });
}

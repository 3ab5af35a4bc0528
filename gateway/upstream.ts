// Where storage is and the keep-alive connection pool to it. A big pool, because every layer
// of every concurrent push or pull holds one connection for its whole transfer.
import http from 'node:http';
import https from 'node:https';
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

export function targetOf(storage: RegistryConfig['storageservice']): UpstreamTarget {
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
  const addr = storage.addr.trim();
  if (addr.startsWith('unix:')) {
    const socketPath = addr.slice('unix:'.length);
    if (!socketPath) throw new Error('storageservice.addr: "unix:" needs a socket path');
    return { protocol: 'http:', host: 'localhost', port: 80, socketPath };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr);
  if (!match) {
    throw new Error(`storageservice.addr: ${JSON.stringify(storage.addr)} is not "host:port", "[ipv6]:port" or "unix:/path"`);
  }
  const port = Number(match[3]);
  if (port === 0) {
    throw new Error(
      'storageservice.addr: port 0 means "a port chosen at start", which only `registry start` can tell the gateway; ' +
        'set REGISTRY_STORAGESERVICE_ADDR (or REGISTRY_STORAGESERVICE_URL) to where storage listens',
    );
  }
  return { protocol: 'http:', host: match[1] ?? match[2]!, port };
}

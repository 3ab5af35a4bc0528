// A small request the gateway itself makes to storage (not a proxied client request), through
// the same connection pool and with the same internal headers the proxy adds. The answer is
// read whole: only for small answers such as catalog pages.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { INTERNAL_TOKEN_HEADER, INTERNAL_USER_HEADER, REQUEST_ID_HEADER } from '../common/internal-headers.js';
import type { Upstream } from './upstream.js';

export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface UpstreamRequest {
  /** Path and query, e.g. `/v2/_catalog?n=100`. */
  path: string;
  internalToken?: string;
  user?: string;
  requestId: string;
  timeoutMs?: number;
}

export function getFromUpstream(upstream: Upstream, request: UpstreamRequest): Promise<UpstreamAnswer> {
  return exchange(upstream, 'GET', request);
}

/** PUTs a small text body (a few bytes: what storage records for the gateway). */
export function putToUpstream(upstream: Upstream, request: UpstreamRequest, body: string): Promise<UpstreamAnswer> {
  return exchange(upstream, 'PUT', request, body);
}

function exchange(upstream: Upstream, method: 'GET' | 'PUT', request: UpstreamRequest, body?: string): Promise<UpstreamAnswer> {
  const { target } = upstream;
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: request.requestId, accept: 'application/json' };
  if (request.internalToken) headers[INTERNAL_TOKEN_HEADER] = request.internalToken;
  if (request.user !== undefined) headers[INTERNAL_USER_HEADER] = request.user;
  if (body !== undefined) {
    headers['content-type'] = 'text/plain';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        method,
        host: target.host,
        port: target.port,
        socketPath: target.socketPath,
        path: `${target.path ?? ''}${request.path}`,
        agent: upstream.agent,
        headers,
        timeout: request.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('storage did not answer in time'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

// Upstream registries for the pull-through cache tests, all local: Debian's docker-registry
// (registry:2) with htpasswd (Basic auth), and one behind a small token front that speaks the
// Docker token flow (401 + `WWW-Authenticate: Bearer realm=…`, a token for Basic credentials)
// and can be told to send wrong bytes for one blob.
import { createServer, type Server } from 'node:http';
import { serveOnLoopback } from '../helpers/http-sink.js';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export interface TokenFront {
  url: string;
  /** Token requests that were answered with a token. */
  tokensIssued: number;
  /** Manifest requests (HEAD and GET) that were let through to the backend. */
  manifestRequests: number;
  /** Blob digests answered with these bytes instead of the backend's. */
  corrupt: Map<string, Buffer>;
  close(): Promise<void>;
}

export const FRONT_USER = 'robot';
export const FRONT_PASSWORD = 'front-secret';
const TOKEN = 'issued-token-1';

/** A Docker-token-flow front over `backend` (an anonymous registry:2). */
export async function startTokenFront(backend: string): Promise<TokenFront> {
  const front: TokenFront = { url: '', tokensIssued: 0, manifestRequests: 0, corrupt: new Map(), close: async () => undefined };
  const expectedBasic = `Basic ${Buffer.from(`${FRONT_USER}:${FRONT_PASSWORD}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://front');
      if (url.pathname === '/token') {
        if (req.headers.authorization !== expectedBasic || !url.searchParams.get('scope')?.startsWith('repository:')) {
          res.writeHead(401).end();
          return;
        }
        front.tokensIssued++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
        return;
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        const name = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${front.url}/token",service="front",scope="repository:${name}:pull"` }).end();
        return;
      }
      if (url.pathname.includes('/manifests/')) front.manifestRequests++;
      const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname)?.[1];
      const bad = digest ? front.corrupt.get(digest) : undefined;
      if (bad) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bad.length), 'docker-content-digest': digest! });
        res.end(req.method === 'HEAD' ? undefined : bad);
        return;
      }
      const upstream = await fetch(`${backend}${req.url}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } });
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'content-length', 'docker-content-digest']) {
        const value = upstream.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      res.writeHead(upstream.status, headers);
      if (upstream.body && req.method !== 'HEAD') Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>).pipe(res);
      else res.end();
    })().catch(() => res.destroy());
  });
  Object.assign(front, await serveOnLoopback(server));
  return front;
}

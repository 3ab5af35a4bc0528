// A plain node:http(s) client for tests: full control over headers (Host, X-Forwarded-For…),
// the local address, and the raw response.
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface TestRequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Source address, e.g. 127.0.0.2 to look like another client on loopback. */
  localAddress?: string;
  /** For https URLs: extra TLS options (ca, servername, minVersion…). */
  tls?: https.RequestOptions;
  basicAuth?: { user: string; password: string };
  timeoutMs?: number;
}

export function request(url: string, options: TestRequestOptions = {}): Promise<TestResponse> {
  const target = new URL(url);
  const headers: Record<string, string | string[]> = { ...options.headers };
  if (options.basicAuth) {
    const token = Buffer.from(`${options.basicAuth.user}:${options.basicAuth.password}`).toString('base64');
    headers.authorization = `Basic ${token}`;
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: options.method ?? 'GET',
        headers,
        localAddress: options.localAddress,
        agent: false,
        ...options.tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends `head` to the server at `url` exactly as written (no client library fixing it up) and
 * returns everything it answers, read until the connection closes.
 */
export function rawExchange(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
  });
}

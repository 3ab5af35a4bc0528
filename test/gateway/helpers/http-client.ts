// A plain node:http(s) client for tests: full control over headers (Host, X-Forwarded-For…),
// the local address, and the raw response.
import http from 'node:http';
import https from 'node:https';

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

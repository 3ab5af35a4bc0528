// A webhook receiver for tests: a node http server on a free loopback port that keeps every POST
// (path, headers, parsed JSON body) and answers with the status `answer` gives (200 by default).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface HttpSink {
  url: string;
  received: ReceivedPost[];
  /** The status for the next POST; change it to make the endpoint fail or recover. */
  answer: (post: ReceivedPost) => number;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const sink: HttpSink = { url: '', received: [], answer: () => 200, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      const post = { path: req.url ?? '', headers: req.headers, body };
      const status = sink.answer(post);
      if (status >= 200 && status < 300) sink.received.push(post);
      res.statusCode = status;
      res.end();
    });
  });
  Object.assign(sink, await serveOnLoopback(server));
  return sink;
}

/** Listens on a free loopback port; `close` stops it and drops its open connections. */
export async function serveOnLoopback(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

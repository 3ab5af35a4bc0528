// A tiny HTTP server standing in for storage where a test must see exactly what the gateway
// sent on the hop (headers, aborts). Registry behaviour is tested against the real storage.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  /** Set when the request or its response was cut before completing. */
  aborted: boolean;
}

export interface RecordingUpstream {
  /** `host:port`, for storageservice.addr. */
  addr: string;
  requests: RecordedRequest[];
  /** Resolves when `count` requests have been seen to end (completed or aborted). */
  ended(count: number): Promise<void>;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest) => void;

/** Default behaviour: read the whole body, answer 200 with a small JSON echo. */
const echo: UpstreamHandler = (req, res, record) => {
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ method: record.method, url: record.url, bodyBytes: record.bodyBytes }));
  });
};

export async function startRecordingUpstream(handler: UpstreamHandler = echo): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  let endedCount = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const noteEnded = (): void => {
    endedCount++;
    for (const waiter of waiters.filter((w) => w.count <= endedCount)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const server = http.createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: 0, aborted: false };
    requests.push(record);
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
    });
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
      noteEnded();
    });
    handler(req, res, record);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    addr: `127.0.0.1:${port}`,
    requests,
    ended: (count) =>
      count <= endedCount ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

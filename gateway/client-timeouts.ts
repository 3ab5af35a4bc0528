// How long a client may keep a connection without sending what it announced. Node's own timers
// cover the headers (headersTimeout) and idle keep-alive (keepAliveTimeout); these two cover
// the rest:
// - silence inside a request: no byte for CLIENT_SILENCE_MS closes the socket. Waiting for
//   storage is not the client's silence (the proxy pauses the timer, see middleware/proxy.ts).
// - an answer given before the body was read (401, 4xx): the connection closes after it,
//   instead of Node reading, and discarding, whatever the client still sends (1 GB announced,
//   one byte every 20 s).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export const CLIENT_SILENCE_MS = 60_000;

export function withClientTimeouts(handler: RequestListener, silenceMs: number): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    // Set per request: Node clears the socket's timeout when a keep-alive connection is reused.
    req.socket.setTimeout(silenceMs);
    closeIfBodyUnread(req, res);
    handler(req, res);
  };
}

function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  const declared = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!declared) return;
  const writeHead = res.writeHead;
  // The only moment to say `Connection: close` is before the headers go out.
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    if (!req.complete) {
      res.shouldKeepAlive = false;
      res.setHeader('Connection', 'close');
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  res.once('finish', () => {
    if (!req.complete) req.socket.destroySoon();
  });
}

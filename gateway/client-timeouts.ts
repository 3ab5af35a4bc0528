// How long a client may keep a connection without sending what it announced. Node's own timers
// cover the headers (headersTimeout) and idle keep-alive (keepAliveTimeout); these two cover
// the rest:
// - silence inside a request: no byte for CLIENT_SILENCE_MS closes the socket. Waiting for
//   storage is not the client's silence (the proxy pauses the timer, see middleware/proxy.ts).
// - an answer given before the body was read (401, 4xx): the connection closes after it,
//   instead of Node reading, and discarding, whatever the client still sends (1 GB announced,
//   one byte every 20 s).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { MAX_DRAINED_BYTES } from '../common/drain-limit.js';

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
      lingerOnClose(req);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  res.once('finish', () => {
    if (!req.complete) req.socket.destroySoon();
  });
}

/**
 * How long (and for at most MAX_DRAINED_BYTES) a connection answered before its body was read goes on
 * reading (and dropping) what the client still sends before it closes. Closing a socket with
 * unread bytes resets it, and a client still writing its body (a manifest over 4 MiB refused by
 * its Content-Length, an upload storage refused early) then gets `EPIPE` or `ECONNRESET`,
 * possibly before it reads the answer. A moment of reading lets the answer arrive first; it is
 * short enough that a slow sender is still cut off at once (nginx does the same: lingering_close).
 */
export const LINGER_MS = 1000;

/** Makes the close Node does after a `Connection: close` answer (socket.destroySoon) linger first. */
function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket;
  const destroySoon = socket.destroySoon.bind(socket);
  let lingering = false;
  socket.destroySoon = () => {
    if (req.complete || socket.destroyed) return destroySoon();
    if (lingering) return;
    lingering = true;
    socket.end(); // after the answer: the client learns that no more answers come
    lingerThenDestroy(socket, req);
  };
}

/**
 * Reads and drops what `source` still delivers, for LINGER_MS and MAX_DRAINED_BYTES at most, then
 * destroys the socket (at once when `source` ends: nothing is left unread).
 */
export function lingerThenDestroy(socket: Duplex, source: Readable): void {
  let read = 0;
  const close = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  source.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > MAX_DRAINED_BYTES) close();
  });
  source.once('end', close);
  source.resume();
}

// The gateway's sockets. Without `http.tls`: plain HTTP on http.addr. With it: TLS on http.addr
// (registry:2), or, when `http.tls.addr` is set too, plain HTTP on http.addr and TLS on
// tls.addr at once (80 + 443). Addresses: `:5000`, `host:port`, `[::1]:port`, `unix:/path`.
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RegistryConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import { rawErrorResponse } from '../common/error-response.js';
import { RegistryError } from '../common/errors.js';
import { parseListenAddress, type ListenAddress } from '../common/config/address.js';
import { listenOn } from '../common/listen.js';
import { ConnectionDrain } from '../common/drain.js';
import { CLIENT_SILENCE_MS, lingerThenDestroy, withClientTimeouts } from './client-timeouts.js';
import { ConnectionCounter } from './connection-limits.js';
import { loadTlsMaterial } from './tls-files.js';
import { compileTrust } from './trust.js';
import { watchCertificates, type CertificateWatcher } from './tls-reload.js';

export interface ListenerOptions {
  /** How often certificate files are checked for changes (default 2 s). */
  certificatePollMs?: number;
  /** How long close() lets in-flight requests finish before cutting them (default 10 s). */
  closeGraceMs?: number;
  /** Tests only: shorter client timeouts (defaults: headers 60 s, silence 60 s). */
  headersTimeoutMs?: number;
  clientSilenceMs?: number;
}

/** How often Node looks for connections past headersTimeout (its default, 30 s, let 15,000 idle sockets live 90 s). */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;

export interface Listeners {
  urls: string[];
  close(): Promise<void>;
  /** Graceful stop (common/drain.ts): no new connections, open ones served until idle or `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  readonly draining: boolean;
}

type Server = http.Server | https.Server;

export async function startListeners(
  httpConfig: RegistryConfig['http'],
  handler: RequestListener,
  logger: Logger,
  options: ListenerOptions = {},
): Promise<Listeners> {
  const plan: Array<{ scheme: 'http' | 'https'; addr: string; setting: string }> = [];
  const tls = httpConfig.tls;
  if (!tls) plan.push({ scheme: 'http', addr: httpConfig.addr, setting: 'http.addr' });
  else if (!tls.addr) plan.push({ scheme: 'https', addr: httpConfig.addr, setting: 'http.addr' });
  else {
    plan.push({ scheme: 'http', addr: httpConfig.addr, setting: 'http.addr' });
    plan.push({ scheme: 'https', addr: tls.addr, setting: 'http.tls.addr' });
  }
  const addresses = plan.map((entry) => ({ ...entry, address: parseAddress(entry.addr, entry.setting) }));

  const material = tls ? await loadTlsMaterial(tls) : undefined;
  const counter = new ConnectionCounter(
    { total: httpConfig.maxconnections ?? 4096, perClient: httpConfig.maxconnectionsperclient ?? 512 },
    compileTrust(httpConfig.trustedproxies),
    logger,
  );
  const pending = new PendingAnswers();
  const connections = new ConnectionDrain();
  const timed = withClientTimeouts(handler, options.clientSilenceMs ?? CLIENT_SILENCE_MS);
  const guarded: RequestListener = (req, res) => {
    pending.track(req, res);
    connections.track(req, res);
    timed(req, res);
  };
  const serverOptions = { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS };
  const servers: Server[] = [];
  const urls: string[] = [];
  let watcher: CertificateWatcher | undefined;

  const close = async (): Promise<void> => {
    watcher?.stop();
    await Promise.all(servers.map((server) => closeServer(server, options.closeGraceMs ?? 10_000)));
  };

  try {
    for (const { scheme, address } of addresses) {
      const server =
        scheme === 'https' ? https.createServer({ ...material!.options, ...serverOptions }, guarded) : http.createServer(serverOptions, guarded);
      configureServer(server, scheme, logger, options.headersTimeoutMs ?? 60_000, pending);
      answerConnectThroughApp(server, guarded);
      counter.watch(server);
      connections.watch(server, scheme === 'https');
      servers.push(server);
      await listenOn(server, address);
      urls.push(address.kind === 'unix' ? `unix:${address.path}` : urlOf(scheme, server.address() as AddressInfo));
    }
  } catch (err) {
    await close();
    throw err;
  }

  if (tls && material) {
    logger.info({ certificate: tls.certificate, ...material.summary }, 'TLS certificate loaded');
    const tlsServers = servers.filter((server): server is https.Server => server instanceof https.Server);
    watcher = watchCertificates(tlsServers, tls, logger, options.certificatePollMs ?? 2000);
  }
  const drain = async (timeoutMs: number): Promise<void> => {
    await connections.drain({ timeoutMs });
    await close();
  };
  return {
    urls,
    close,
    drain,
    get draining() {
      return connections.isDraining;
    },
  };
}

/** Requests of each connection whose answers are not written yet (pipelining), and what waits for them. */
class PendingAnswers {
  private readonly connections = new WeakMap<Duplex, { count: number; waiting: Array<() => void> }>();

  track(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    let entry = this.connections.get(socket);
    if (!entry) this.connections.set(socket, (entry = { count: 0, waiting: [] }));
    entry.count++;
    res.once('close', () => {
      if (--entry.count > 0) return;
      for (const run of entry.waiting.splice(0)) run();
    });
  }

  whenAnswered(socket: Duplex, run: () => void): void {
    const entry = this.connections.get(socket);
    if (!entry || entry.count === 0) run();
    else entry.waiting.push(run);
  }
}

function configureServer(server: Server, scheme: 'http' | 'https', logger: Logger, headersTimeoutMs: number, pending: PendingAnswers): void {
  // A 1 GiB layer on a slow link takes long: no whole-request deadline (Node's default is 5 min);
  // what bounds a slow client is silence (client-timeouts.ts), not duration.
  server.requestTimeout = 0;
  server.headersTimeout = headersTimeoutMs;
  // Longer than nginx's upstream keepalive_timeout (60 s), so nginx never reuses a socket we close.
  server.keepAliveTimeout = 65_000;

  // The parser errs again on every byte that follows a request it could not parse: one answer.
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    if (answered.has(socket)) return;
    // docker and skopeo try TLS first on a host:port that speaks plain HTTP: a ClientHello
    // (first byte 0x16) lands here as a parse error. Answer 400 and close; never crash.
    const tlsHandshake = scheme === 'http' && err.rawPacket?.[0] === 0x16;
    logger.debug(
      { err: { message: err.message, code: err.code }, client: socket.remoteAddress, tlsHandshake },
      tlsHandshake ? 'TLS handshake on the plain HTTP listener, answered 400' : 'malformed request',
    );
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message = status === 431 ? 'request headers too large' : status === 408 ? 'request headers not received in time' : 'malformed HTTP request';
    const answer = rawErrorResponse(new RegistryError('UNSUPPORTED', message, undefined, { status }));
    // Node parses pipelined requests ahead of their answers: a bad third request errs while the
    // first two are still being answered, and its 400 goes after their answers, in order.
    answered.add(socket);
    pending.whenAnswered(socket, () => {
      if (!socket.writable) return void socket.destroy();
      // A client still sending (a 4 MiB body behind a bad request line) reads the answer
      // instead of a reset: what it sends is read and dropped for a moment first.
      socket.end(answer);
      lingerThenDestroy(socket, socket);
    });
  });
  if (server instanceof https.Server) {
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      logger.debug({ err: { message: err.message, code: err.code }, client: socket.remoteAddress }, 'TLS handshake failed');
      // Plain HTTP sent to the TLS port: answer 400 in plain text, as registry:2 does, instead
      // of silence. The TLS layer has given up, so this goes to the TCP socket beneath it.
      const raw = (socket as typeof socket & { _parent?: Socket })._parent;
      if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw?.writable) {
        raw.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 49\r\n\r\nClient sent an HTTP request to an HTTPS server.\r\n');
      }
    });
  }
}

/**
 * CONNECT asks for a tunnel. Node hands it to a 'connect' listener instead of the request handler,
 * and without one closes the connection unanswered; given to the app like any other request, it
 * gets an answer (405, routes.ts), and the connection closes after it (the client may already be
 * sending tunnel bytes, which are no HTTP).
 */
function answerConnectThroughApp(server: Server, handler: RequestListener): void {
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    handler(req, res);
  });
}

function parseAddress(addr: string, setting: string): ListenAddress {
  try {
    return parseListenAddress(addr.trim());
  } catch (err) {
    throw new Error(`${setting}: ${(err as Error).message}`);
  }
}

/** `http://127.0.0.1:5000`, `https://[::1]:443`: the URL of a listening socket. */
function urlOf(scheme: 'http' | 'https', address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

async function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(grace);
}

// Hands a /v2 request to storage with http-proxy: bodies stream both ways with backpressure,
// storage's status and headers come back as they are, and the hop carries the gateway's view of
// the request (user, request id, external scheme and host, internal token) and never the
// client's copy of those headers.
//
// The one place the gateway bypasses Koa (ctx.respond = false): storage's answer is written to
// the socket by http-proxy (or by the file or URL handoff), because Koa would buffer nothing but could
// not keep http-proxy's streaming with backpressure and its header handling. Everything the
// gateway answers itself, a failure to reach storage included, is written by Koa through the
// error boundary like any other gateway answer (one OCI error writer).
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import httpProxy, { type ServerOptions } from 'http-proxy';
import { noteBytesReceived } from '../../common/buffer-reclaim.js';
import type { Logger } from '../../common/logger.js';
import { RegistryError, type ErrorCode } from '../../common/errors.js';
import {
  CLIENT_ADDR_HEADER,
  FILE_HANDOFF_REQUEST_HEADER,
  URL_HANDOFF_REQUEST_HEADER,
  EXTERNAL_HOST_HEADER,
  EXTERNAL_PROTO_HEADER,
  INTERNAL_HEADERS,
  INTERNAL_TOKEN_HEADER,
  INTERNAL_USER_HEADER,
  REQUEST_ID_HEADER,
  encodeUserHeader,
} from '../../common/internal-headers.js';
import { handedOffFile, sendHandedOffFile, wantsHandoff, type FileHandoff } from '../file-handoff.js';
import { handedOffUrl, sendHandedOffUrl, type UrlHandoff } from '../url-handoff.js';
import type { GatewayContext, GatewayMiddleware } from '../state.js';
import type { Upstream } from '../upstream.js';

export interface ProxyOptions {
  upstream: Upstream;
  /** Added as x-registry-internal-token on every upstream request, when set. */
  internalToken?: string;
  /** Abort an upstream exchange that moves no byte for this long (nginx's proxy_read_timeout). */
  idleTimeoutMs: number;
  logger: Logger;
  /** Blob downloads sent from the data directory when this process can read it. */
  fileHandoff?: FileHandoff;
  /** Blob downloads fetched from the bucket by this process when storage signs URLs for them. */
  urlHandoff?: UrlHandoff;
}

/** Client headers that never reach storage: credentials, and what the gateway itself decides. */
const DROPPED_REQUEST_HEADERS = [
  ...INTERNAL_HEADERS,
  'authorization',
  'proxy-authorization',
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  EXTERNAL_PROTO_HEADER,
  EXTERNAL_HOST_HEADER,
  REQUEST_ID_HEADER,
  // The gateway answers "100 Continue" itself, once the request is let through (see below);
  // storage must not wait for a second go-ahead.
  'expect',
  // Hop-by-hop (RFC 9110 7.6.1): they describe the client's connection, not the pooled one to
  // storage. The `Connection` header itself is overridden below instead, because http-proxy
  // reads the client's copy to answer the client.
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
];

/** Connection failures that mean "storage is not there": 503, worth retrying later. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EADDRNOTAVAIL']);

interface Exchange {
  proxyReq?: ClientRequest;
  /** http-proxy's own copy of this request's options. */
  proxyOptions?: ServerOptions;
  proxyRes?: IncomingMessage;
  timedOut: boolean;
  clientGone: boolean;
  ctx: GatewayContext;
  /** Set when storage was asked to hand the blob file off. */
  handoff?: FileHandoff;
  /** Set when storage was asked to hand a URL to the blob off. */
  urlHandoff?: UrlHandoff;
  /** Ends the wait for the exchange with an error for Koa to answer (nothing was written yet). */
  fail(error: RegistryError): void;
  /** Sends the request to storage; again, without asking for handoff, when a handed-off file or URL could not be read. */
  forward(): void;
  /** Storage's answer started: the client's silence timer runs again (client-timeouts.ts). */
  onResponse?: () => void;
  /** Storage took the body bytes waiting for it: the client's silence timer runs again. */
  onDrain?: () => void;
}

export function proxyToStorage(options: ProxyOptions): GatewayMiddleware {
  const { upstream, logger } = options;
  const proxy = httpProxy.createProxyServer({});
  const exchanges = new WeakMap<IncomingMessage, Exchange>();

  // http-proxy reports these per proxy server, so each request's exchange is found by its req.
  proxy.on('proxyReq', (proxyReq, req, _res, requestOptions) => {
    const exchange = exchanges.get(req);
    if (!exchange) return;
    exchange.proxyReq = proxyReq;
    exchange.proxyOptions = requestOptions;
    if (exchange.clientGone) {
      proxyReq.destroy();
      return;
    }
    proxyReq.on('drain', () => exchange.onDrain?.());
    // A body filter that gave up (state.ts: requestBody): storage's request is abandoned.
    const body = exchange.ctx.state.requestBody;
    body?.once('close', () => {
      if (!body.readableEnded) proxyReq.destroy();
    });
    proxyReq.setTimeout(options.idleTimeoutMs, () => {
      exchange.timedOut = true;
      proxyReq.destroy(Object.assign(new Error('storage did not answer in time'), { code: 'ETIMEDOUT' }));
    });
  });
  proxy.on('proxyRes', (proxyRes, req, res) => {
    const exchange = exchanges.get(req);
    if (!exchange) return;
    exchange.proxyRes = proxyRes;
    exchange.onResponse?.();
    // Storage's hop-by-hop headers describe the pooled connection, not the client's: without
    // them http-proxy answers the client after the client's own `Connection` header.
    delete proxyRes.headers.connection;
    delete proxyRes.headers['keep-alive'];
    exchange.ctx.state.bytesSent = 0;
    // Storage named a file or a URL instead of sending bytes: this answer is the gateway's to
    // write. http-proxy reads selfHandleResponse right after this event, so it leaves the response
    // alone; every other answer (errors included) it relays as usual.
    const handedOff =
      exchange.urlHandoff && handedOffUrl(proxyRes) !== undefined
        ? { send: sendHandedOffUrl.bind(null, exchange.urlHandoff), turnOff: () => (exchange.urlHandoff = undefined) }
        : exchange.handoff && handedOffFile(proxyRes) !== undefined
          ? { send: sendHandedOffFile.bind(null, exchange.handoff), turnOff: () => (exchange.handoff = undefined) }
          : undefined;
    if (handedOff && exchange.proxyOptions) {
      exchange.proxyOptions.selfHandleResponse = true;
      const counted = (bytes: number): void => {
        exchange.ctx.state.bytesSent = bytes;
      };
      handedOff.send(proxyRes, res, logger, counted).then(
        (sent) => {
          if (sent || exchange.clientGone) return;
          // This process cannot read what storage named (another view of the disk, a bucket out
          // of reach): a GET without a body can simply be sent again, asking for the bytes.
          handedOff.turnOff();
          exchange.forward();
        },
        (err: NodeJS.ErrnoException) => upstreamFailed(err, exchange, res, logger, upstream.description),
      );
      return;
    }
    // Counting only observes the chunks; the pipe http-proxy sets up next keeps the backpressure.
    proxyRes.on('data', (chunk: Buffer) => {
      exchange.ctx.state.bytesSent! += chunk.length;
    });
  });
  // Errors go to the per-request callback; this keeps a stray emit from crashing the process.
  proxy.on('error', (err) => logger.error({ err }, 'proxy error without a request'));

  return async (ctx) => {
    const { req, res } = ctx;
    if (!req.url?.startsWith('/')) {
      throw new RegistryError('UNSUPPORTED', 'request target must be a path', undefined, { status: 400 });
    }
    // Authenticated and allowed: now the client may send its body (listeners.ts keeps Node from
    // inviting it before).
    if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
    for (const name of DROPPED_REQUEST_HEADERS) delete req.headers[name];
    const headers: Record<string, string> = {
      [EXTERNAL_PROTO_HEADER]: ctx.state.externalProto,
      [EXTERNAL_HOST_HEADER]: ctx.state.externalHost,
      'x-forwarded-for': ctx.state.clientAddress,
      [CLIENT_ADDR_HEADER]: clientAddr(ctx),
      [REQUEST_ID_HEADER]: ctx.state.requestId,
      // A client's `Connection: close` (skopeo sends it on every request) must not reach storage:
      // storage would close the pooled socket right after its answer, while this request may
      // still write its last (empty) piece. Over a unix socket that write fails with EPIPE
      // before the answer is read, and the client got a 502 for an upload storage had accepted.
      connection: 'keep-alive',
    };
    if (ctx.state.user !== undefined) headers[INTERNAL_USER_HEADER] = encodeUserHeader(ctx.state.user);
    if (options.internalToken) headers[INTERNAL_TOKEN_HEADER] = options.internalToken;
    const wanted = wantsHandoff(ctx.method, ctx.path);
    const handoff = options.fileHandoff && wanted && (await options.fileHandoff.available()) ? options.fileHandoff : undefined;
    if (handoff) headers[FILE_HANDOFF_REQUEST_HEADER] = '1';
    const urlHandoff = options.urlHandoff?.available && wanted ? options.urlHandoff : undefined;
    if (urlHandoff) headers[URL_HANDOFF_REQUEST_HEADER] = '1';

    ctx.respond = false;
    ctx.state.bytesReceived = 0;
    req.on('data', (chunk: Buffer) => {
      ctx.state.bytesReceived! += chunk.length;
      noteBytesReceived(chunk.length);
    });

    const failure = await new Promise<RegistryError | undefined>((resolve) => {
      const forward = (): void => {
        if (!exchange.handoff) delete headers[FILE_HANDOFF_REQUEST_HEADER];
        if (!exchange.urlHandoff) delete headers[URL_HANDOFF_REQUEST_HEADER];
        proxy.web(
          req,
          res,
          {
            target: { ...upstream.target },
            agent: upstream.agent,
            headers,
            toProxy: true, // use req.url as it came, without url.parse's rewriting
            buffer: ctx.state.requestBody, // the body as a middleware filtered it, else req itself
            xfwd: false,
            changeOrigin: false,
          },
          (err) => upstreamFailed(err as NodeJS.ErrnoException, exchange, res, logger, upstream.description),
        );
      };
      const exchange: Exchange = { timedOut: false, clientGone: false, ctx, handoff, urlHandoff, fail: resolve, forward };
      exchanges.set(req, exchange);
      // The client's silence timer (client-timeouts.ts) stops while storage works on the complete
      // request (a commit may take a while; idleTimeoutMs bounds storage), and runs again from the
      // first byte of the answer, which a client must keep reading.
      const silenceMs = req.socket.timeout ?? 0;
      req.once('end', () => {
        if (!exchange.proxyRes) req.socket.setTimeout(0);
      });
      exchange.onResponse = () => req.socket.setTimeout(silenceMs);
      // Nor is storage taking the body slower than the client sends it: the pipe to storage pauses
      // the request until storage drains, the client's bytes wait unread, and the timer cut
      // clients off whose upload storage then acknowledged (access log 404 incomplete, storage
      // 202). It runs again once storage drains.
      req.on('pause', () => {
        if (!exchange.proxyRes) req.socket.setTimeout(0);
      });
      exchange.onDrain = () => {
        if (!req.complete && !exchange.proxyRes) req.socket.setTimeout(silenceMs);
      };
      res.once('close', () => {
        if (!res.writableFinished) {
          // The client went away: stop the upstream exchange instead of letting it run on.
          exchange.clientGone = true;
          exchange.proxyReq?.destroy();
          exchange.proxyRes?.destroy();
        }
        resolve(undefined);
      });
      forward();
    });
    if (failure) {
      ctx.respond = true; // nothing was written: Koa answers, as for every gateway error
      throw failure;
    }
  };
}

function upstreamFailed(
  err: NodeJS.ErrnoException,
  exchange: Exchange,
  res: ServerResponse,
  logger: Logger,
  storage: string,
): void {
  if (exchange.clientGone || res.destroyed) return;
  const requestId = exchange.ctx.state.requestId;
  if (res.headersSent) {
    // Storage failed mid-body: cut the response so the client sees a truncated transfer.
    logger.warn({ err, requestId, storage }, 'storage failed during the response');
    res.destroy();
    return;
  }
  let code: ErrorCode = 'UNKNOWN';
  let status = 502;
  let message = 'storage service failed to answer';
  if (exchange.timedOut || err.code === 'ETIMEDOUT') {
    code = 'UNAVAILABLE';
    status = 504;
    message = 'storage service timed out';
  } else if (err.code !== undefined && UNAVAILABLE_CODES.has(err.code)) {
    code = 'UNAVAILABLE';
    status = 503;
    message = 'storage service unavailable';
  }
  logger.error({ err: { message: err.message, code: err.code }, requestId, storage, status }, message);
  // An unread request body would keep the connection busy: close it after the answer.
  const headers: Record<string, string> = exchange.ctx.req.complete ? {} : { Connection: 'close' };
  exchange.fail(new RegistryError(code, message, undefined, { status, headers }));
}

/** `ip:port` of a direct client (`[v6]:port`), the forwarded address of one behind a trusted proxy. */
function clientAddr(ctx: GatewayContext): string {
  const socket = ctx.req.socket;
  const address = ctx.state.clientAddress;
  if (address !== socket.remoteAddress || socket.remotePort === undefined) return address;
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}

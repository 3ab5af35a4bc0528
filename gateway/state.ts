// What the gateway's middleware learns about a request, in `ctx.state`, for the ones after it.
import type { ParameterizedContext, Middleware } from 'koa';
import type { Readable } from 'node:stream';

export interface GatewayState {
  /** Request id: the trusted proxy's `X-Request-Id`, else a new one. */
  requestId: string;
  /** The real client address (after trusted-proxy resolution), e.g. `203.0.113.7`. */
  clientAddress: string;
  /** Whether the directly connected peer is a trusted proxy. */
  peerTrusted: boolean;
  /** Scheme and host the client used to reach us (or `http.host`), for storage's `Location`s. */
  externalProto: 'http' | 'https';
  externalHost: string;
  /** The authenticated user, when auth is configured and the request carried valid credentials. */
  user?: string;
  /** Response body bytes sent, when a middleware other than Koa wrote the body (the proxy). */
  bytesSent?: number;
  /** Request body bytes passed on to storage. */
  bytesReceived?: number;
  /**
   * The request body as the proxy sends it to storage, when a middleware filters it on the way
   * (manifest-size.ts); else the request itself. A filter that gives up destroys this stream
   * before it ends: the proxy then abandons storage's request, so storage stores nothing.
   */
  requestBody?: Readable;
}

export type GatewayContext = ParameterizedContext<GatewayState>;
export type GatewayMiddleware = Middleware<GatewayState>;

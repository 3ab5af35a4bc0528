// Works out the real client address and the external scheme/host once per request, believing
// forwarded headers only from trusted proxies (see ../client-info.ts).
import type { TLSSocket } from 'node:tls';
import { resolveClient } from '../client-info.js';
import type { TrustFunction } from '../trust.js';
import type { GatewayMiddleware } from '../state.js';

export function forwardedHeaders(trust: TrustFunction, externalBase?: URL): GatewayMiddleware {
  return async (ctx, next) => {
    const socket = ctx.req.socket;
    const client = resolveClient(
      {
        peerAddress: socket.remoteAddress ?? '',
        encrypted: (socket as TLSSocket).encrypted === true,
        headers: ctx.req.headers,
      },
      trust,
      externalBase,
    );
    ctx.state.clientAddress = client.address;
    ctx.state.peerTrusted = client.peerTrusted;
    ctx.state.externalProto = client.proto;
    ctx.state.externalHost = client.host;
    await next();
  };
}

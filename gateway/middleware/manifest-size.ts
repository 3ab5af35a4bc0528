// A manifest PUT over the size limit is answered 413 by the gateway, before storage sees it: from
// Content-Length when there is one, else by counting the bytes as they stream to storage (never
// buffering them). Past the limit, nothing more reaches storage, its request is abandoned (so
// nothing is stored), and the client gets the 413.
//
// 413 with SIZE_INVALID, as storage answers its own limit: the OCI distribution spec says a
// registry that limits manifest size SHOULD answer 413 Payload Too Large past it (and accept at
// least 4 MiB); SIZE_INVALID is the spec's code for a body whose size is wrong. 400
// MANIFEST_INVALID would tell a client the manifest is malformed, which it may not be.
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { MAX_DRAINED_BYTES } from '../../common/drain-limit.js';
import { MAX_MANIFEST_BYTES } from '../../common/manifest-limits.js';
import { respondWithError, writeRawError } from '../oci-response.js';
import type { GatewayContext, GatewayMiddleware } from '../state.js';

export { MAX_MANIFEST_BYTES };

const MANIFEST_PATH = /^\/v2\/.+\/manifests\/[^/]+$/;

export function manifestSizeLimit(limit = MAX_MANIFEST_BYTES): GatewayMiddleware {
  const message = `manifest exceeds ${limit} bytes`;
  return async (ctx, next) => {
    if (ctx.method !== 'PUT' || !MANIFEST_PATH.test(ctx.path)) return next();
    const declared = ctx.req.headers['content-length'];
    if (declared !== undefined) {
      // Node itself holds the body to Content-Length.
      if (Number(declared) <= limit) return next();
      // Node reads and discards the unread body after the answer (keep-alive); too much of it is
      // not worth reading.
      if (Number(declared) > MAX_DRAINED_BYTES) ctx.set('Connection', 'close');
      respondWithError(ctx, 'SIZE_INVALID', { status: 413, message });
      return;
    }
    countOnTheWay(ctx, limit, message);
    await next();
  };
}

/**
 * Puts a counter between the request and storage: the proxy sends `ctx.state.requestBody`
 * (http-proxy's `buffer` option) instead of the request itself.
 */
function countOnTheWay(ctx: GatewayContext, limit: number, message: string): void {
  const req: IncomingMessage = ctx.req;
  const res = ctx.res;
  let seen = 0;
  let refused = false;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen <= limit) return done(null, chunk);
      if (!refused) {
        refused = true;
        refuse();
      }
      if (seen > MAX_DRAINED_BYTES) req.socket.destroy();
      done(); // past the limit: read and dropped
    },
  });
  const refuse = (): void => {
    // Storage answered already (an early error): its answer stands, it just gets no more bytes.
    if (res.headersSent) return;
    ctx.state.bytesSent = writeRawError(res, 'SIZE_INVALID', { status: 413, message });
    // Once the 413 is out, storage's request goes (the proxy abandons it when the body it sends
    // is destroyed before its end): storage never sees the end of the body, so it stores nothing.
    // (The proxy's failure handler leaves a finished response alone.)
    res.once('close', () => counter.destroy());
  };
  ctx.state.requestBody = req.pipe(counter);
}

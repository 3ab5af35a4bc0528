// A request id for the logs of both processes: a trusted proxy's X-Request-Id is kept (so one id
// follows a request through nginx, the gateway and storage), anyone else's is replaced.
import { randomUUID } from 'node:crypto';
import type { GatewayMiddleware } from '../state.js';

const ACCEPTABLE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestId(): GatewayMiddleware {
  return async (ctx, next) => {
    const offered = ctx.get('x-request-id');
    ctx.state.requestId = ctx.state.peerTrusted && ACCEPTABLE_ID.test(offered) ? offered : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}

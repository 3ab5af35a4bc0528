// htpasswd Basic auth in front of every /v2 request, answering like registry:2: 401 with the
// Basic challenge and the access the request needed, 429 with Retry-After when the client is
// throttled. The user name found here is what storage is told (x-registry-user).
import type { Logger } from '../../common/logger.js';
import type { Authenticator } from '../auth/authenticator.js';
import { parseBasicCredentials } from '../basic-credentials.js';
import { respondWithError } from '../oci-response.js';
import type { GatewayContext, GatewayMiddleware } from '../state.js';
import { unauthorizedDetail } from '../unauthorized-detail.js';

/**
 * A throttled guesser gets its 429 after a pause: a closed loop of N connections then sends N
 * guesses a second instead of thousands, and the event loop stays free for real users (whose
 * requests would otherwise queue behind the guesses). Past a bound of parked answers, answer at
 * once rather than hold more sockets.
 */
export const THROTTLED_ANSWER_DELAY_MS = 1000;
const MAX_PARKED_ANSWERS = 1024;
let parked = 0;

/** 429 with Retry-After, after the pause (also for the web UI's login: gateway/ui/routes.ts). */
export async function answerThrottled(ctx: GatewayContext, retryAfterSeconds: number): Promise<void> {
  if (parked < MAX_PARKED_ANSWERS) {
    parked++;
    await new Promise((resolve) => setTimeout(resolve, THROTTLED_ANSWER_DELAY_MS));
    parked--;
  }
  respondWithError(ctx, 'TOOMANYREQUESTS', {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
}

/**
 * `allowAnonymous` (with an access policy): whether a request without credentials may go on
 * without a user (a rule grants it anonymously); otherwise it gets the 401 challenge as always.
 */
export function basicAuth(
  authenticator: Authenticator,
  realm: string,
  logger: Logger,
  allowAnonymous?: (ctx: GatewayContext) => Promise<boolean>,
  /** Another challenge to send instead of Basic (token-auth.ts), when it returns one. */
  otherChallenge?: (ctx: GatewayContext) => Promise<string | undefined>,
): GatewayMiddleware {
  const challenge = basicChallenge(realm);
  const refuse = async (ctx: GatewayContext): Promise<void> => {
    const from = typeof ctx.query.from === 'string' ? ctx.query.from : undefined;
    respondWithError(ctx, 'UNAUTHORIZED', {
      detail: unauthorizedDetail(ctx.method, ctx.path, from),
      headers: { 'WWW-Authenticate': (await otherChallenge?.(ctx)) ?? challenge },
    });
  };

  return async (ctx, next) => {
    if (ctx.state.user !== undefined) return next(); // a Bearer token of ours (token-auth.ts) named the user
    const credentials = parseBasicCredentials(ctx.get('authorization'));
    // skopeo and podman without a login send `Basic Og==` (an empty user and password): no credentials.
    const anonymous = !credentials || (credentials.user === '' && credentials.password === '');
    if (anonymous && allowAnonymous && (await allowAnonymous(ctx))) return next();
    if (!credentials) return refuse(ctx);
    const result = await authenticator.authenticate(credentials.user, credentials.password, ctx.state.clientAddress);
    if (result.ok) {
      ctx.state.user = result.user;
      return next();
    }
    const logFields = { requestId: ctx.state.requestId, user: credentials.user, client: ctx.state.clientAddress };
    // The authenticator logs each failed check and the moment an address becomes throttled;
    // a line per refused guess would let a guesser flood the log, so these are debug only.
    if (result.reason === 'throttled') {
      logger.debug({ ...logFields, retryAfterSeconds: result.retryAfterSeconds }, 'authentication throttled');
      await answerThrottled(ctx, result.retryAfterSeconds);
      return;
    }
    logger.debug(logFields, 'authentication failed');
    await refuse(ctx);
  };
}

export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}

/** A quoted-string for the realm (RFC 9110): backslash-escape quotes and backslashes. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// docker's token authentication flow, served by the gateway itself when the access policy grants
// anything anonymously (see access/bearer-token.ts for why): /v2/ and refusals then challenge
// with `Bearer realm=<gateway>/v2/token`; GET /v2/token answers a token for the Basic
// credentials it was sent (the htpasswd file is still the user store; the throttle applies) or
// an anonymous token without any; requests carrying one of our tokens are that user's. Basic on
// every request keeps working (curl -u).
import type { Logger } from '../../common/logger.js';
import type { PolicySource } from '../access/index.js';
import type { BearerTokens } from '../access/bearer-token.js';
import type { Authenticator } from '../auth/authenticator.js';
import { parseBasicCredentials } from '../basic-credentials.js';
import { respondWithError } from '../oci-response.js';
import type { GatewayContext, GatewayMiddleware } from '../state.js';

/** Under /v2/ so that a proxy in front forwarding only /v2/ (the how-to's nginx) passes it too. */
export const TOKEN_PATH = '/v2/token';

export interface TokenEndpointOptions {
  tokens: BearerTokens;
  authenticator: Authenticator;
  /** The Basic challenge for wrong credentials at the token endpoint. */
  basicChallenge: string;
  logger: Logger;
}

export function tokenEndpoint(options: TokenEndpointOptions): GatewayMiddleware {
  const { tokens, authenticator, logger } = options;
  return async (ctx, next) => {
    if (ctx.path !== TOKEN_PATH) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      respondWithError(ctx, 'UNSUPPORTED', { headers: { Allow: 'GET, HEAD' } });
      return;
    }
    const credentials = parseBasicCredentials(ctx.get('authorization'));
    let user: string | undefined;
    if (credentials && !(credentials.user === '' && credentials.password === '')) {
      const result = await authenticator.authenticate(credentials.user, credentials.password, ctx.state.clientAddress);
      if (!result.ok) {
        if (result.reason === 'throttled') {
          respondWithError(ctx, 'TOOMANYREQUESTS', { headers: { 'Retry-After': String(Math.max(1, Math.ceil(result.retryAfterSeconds))) } });
        } else {
          respondWithError(ctx, 'UNAUTHORIZED', { headers: { 'WWW-Authenticate': options.basicChallenge } });
        }
        return;
      }
      user = result.user;
    }
    const issued = tokens.issue(user);
    logger.debug({ requestId: ctx.state.requestId, user: user ?? null }, 'token issued');
    ctx.state.user = user;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt });
  };
}

/** `Authorization: Bearer <our token>`: the request is that user's (an anonymous token names nobody). */
export function bearerAuth(tokens: BearerTokens): GatewayMiddleware {
  return async (ctx, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('authorization'));
    const identity = match ? tokens.verify(match[1]!) : undefined;
    if (identity?.user !== undefined) ctx.state.user = identity.user;
    return next();
  };
}

/** For basicAuth: the Bearer challenge while the policy grants anything anonymously, else none (Basic). */
export function tokenChallenge(source: PolicySource): (ctx: GatewayContext) => Promise<string | undefined> {
  return async (ctx) => {
    if (!(await source.current()).grantsAnonymous) return undefined;
    const base = `${ctx.state.externalProto}://${ctx.state.externalHost}`;
    return `Bearer realm="${base}${TOKEN_PATH}",service="${ctx.state.externalHost}"`;
  };
}

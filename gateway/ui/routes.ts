// The web UI the gateway serves (`ui.enabled`, on by default), before auth:
//   GET /                    the page (index.html with what the page needs to start, no-cache)
//   GET /ui/assets/<file>    the built script and style sheet (immutable when asked by version)
//   GET /ui/api/session      who is logged in, the anti-CSRF token, whether deletes are on
//   GET /ui/api/permissions?repository=<name>   what the user may do there (delete buttons)
//   POST /ui/api/login       {username, password} -> the session cookie (throttled like Basic)
//   POST /ui/api/logout      ends the session (needs the anti-CSRF token)
// The page calls the registry's /v2 API with the cookie (session-auth.ts). Nothing here talks to
// another host, and the pages forbid it (Content-Security-Policy).
import type { Logger } from '../../common/logger.js';
import type { SessionInfo } from '../../common/ui-types.js';
import getRawBody from 'raw-body';
import { ANONYMOUS, type PolicySource, type Subject } from '../access/index.js';
import type { Authenticator } from '../auth/authenticator.js';
import { answerThrottled } from '../middleware/auth.js';
import { respondWithError } from '../oci-response.js';
import type { GatewayContext, GatewayMiddleware } from '../state.js';
import { loadAssets, type Assets } from './assets.js';
import { CSRF_HEADER, sessionCookie, type Sessions } from './session.js';
import { fromOwnPages, sessionOf } from './session-auth.js';

export interface UiOptions {
  /** Present exactly when auth is on. */
  sessions?: Sessions;
  authenticator?: Authenticator;
  policy?: PolicySource;
  deleteEnabled: boolean;
  logger: Logger;
  /** Where the built files are (default: web/ beside this module, in dist/). */
  assetsDir?: string;
}

const MAX_LOGIN_BODY = 4096;

/** The page's own rules: scripts, styles and requests from this origin only; no framing. */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

export function uiRoutes(options: UiOptions): GatewayMiddleware {
  const { sessions, authenticator } = options;
  const assets: Assets = loadAssets(options.assetsDir ?? new URL('./web/', import.meta.url).pathname);

  async function sessionInfo(ctx: GatewayContext): Promise<SessionInfo> {
    const session = sessions ? await sessionOf(ctx, sessions) : undefined;
    const policy = await options.policy?.current();
    return {
      authEnabled: sessions !== undefined,
      user: session?.user ?? null,
      csrf: session && sessions ? sessions.csrfToken(session) : null,
      deleteEnabled: options.deleteEnabled,
      anonymousBrowsing: policy?.grantsAnonymous ?? false,
    };
  }

  async function mayDelete(ctx: GatewayContext, repository: string): Promise<boolean> {
    if (!options.deleteEnabled) return false;
    if (!sessions) return true; // no auth: everyone may do everything, as registry:2
    const session = await sessionOf(ctx, sessions);
    const policy = await options.policy?.current();
    const subject: Subject = session ? { user: session.user } : ANONYMOUS;
    if (policy) return policy.decide(subject, 'delete', repository).allowed;
    return session !== undefined;
  }

  async function login(ctx: GatewayContext): Promise<void> {
    if (!sessions || !authenticator) {
      respondWithError(ctx, 'UNSUPPORTED', { status: 404, message: 'authentication is off: there is nothing to log in to' });
      return;
    }
    // A form of another site cannot send JSON, and a script of another origin cannot send it here
    // without a preflight; the browser's own word on where the request comes from must agree.
    if (!fromOwnPages(ctx)) {
      respondWithError(ctx, 'DENIED', { message: 'log in from the registry\'s own page' });
      return;
    }
    if (!ctx.is('application/json')) {
      respondWithError(ctx, 'UNSUPPORTED', { status: 415, message: 'send {"username": ..., "password": ...} as application/json' });
      return;
    }
    let body: { username?: unknown; password?: unknown };
    try {
      body = JSON.parse(await getRawBody(ctx.req, { limit: MAX_LOGIN_BODY, encoding: 'utf8' })) as typeof body;
    } catch {
      respondWithError(ctx, 'UNSUPPORTED', { status: 400, message: 'send {"username": ..., "password": ...} as JSON (at most 4 KiB)' });
      return;
    }
    const { username, password } = body ?? {};
    if (typeof username !== 'string' || typeof password !== 'string' || username === '') {
      respondWithError(ctx, 'UNAUTHORIZED', { message: 'user name and password required' });
      return;
    }
    const result = await authenticator.authenticate(username, password, ctx.state.clientAddress);
    if (!result.ok) {
      if (result.reason === 'throttled') return answerThrottled(ctx, result.retryAfterSeconds);
      respondWithError(ctx, 'UNAUTHORIZED', { message: 'wrong user name or password' });
      return;
    }
    const { value, session } = sessions.issue(result.user);
    ctx.state.user = result.user;
    options.logger.info({ requestId: ctx.state.requestId, user: result.user, client: ctx.state.clientAddress }, 'ui: logged in');
    ctx.set('Set-Cookie', sessionCookie(value, sessions.lifetimeSeconds, ctx.state.externalProto === 'https'));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { user: session.user, csrf: sessions.csrfToken(session), expiresAt: new Date(session.expiresAt * 1000).toISOString() };
  }

  async function logout(ctx: GatewayContext): Promise<void> {
    const session = sessions ? await sessionOf(ctx, sessions) : undefined;
    // The browser drops the cookie whatever happens next.
    ctx.set('Set-Cookie', sessionCookie('', 0, ctx.state.externalProto === 'https'));
    ctx.set('Cache-Control', 'no-store');
    if (session && sessions) {
      if (!sessions.checkCsrf(session, ctx.get(CSRF_HEADER))) {
        respondWithError(ctx, 'DENIED', { message: 'missing or wrong anti-CSRF token' });
        return;
      }
      try {
        await sessions.revoke(session);
      } catch (err) {
        // Said, not hidden: a copy of the cookie would still open the UI on other replicas.
        options.logger.error({ requestId: ctx.state.requestId, user: session.user, err }, 'ui: logout not recorded in storage');
        respondWithError(ctx, 'UNAVAILABLE', { message: 'logged out on this server only: storage could not record the logout for the others' });
        return;
      }
      options.logger.info({ requestId: ctx.state.requestId, user: session.user }, 'ui: logged out');
    }
    ctx.status = 204;
  }

  return async (ctx, next) => {
    const { path, method } = ctx;
    const read = method === 'GET' || method === 'HEAD';
    if (path === '/' && read) {
      ctx.set(PAGE_HEADERS);
      ctx.set('Cache-Control', 'no-cache');
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = assets.page(await sessionInfo(ctx));
      return;
    }
    if (!path.startsWith('/ui/')) return next();
    if (path.startsWith('/ui/assets/') && read) {
      const asset = assets.get(path.slice('/ui/assets/'.length));
      if (asset) {
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.set('Cache-Control', ctx.query.v === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache');
        ctx.etag = asset.version;
        ctx.type = asset.type;
        ctx.status = 200; // (fresh is only asked of a successful answer)
        if (ctx.fresh) {
          ctx.status = 304;
          return;
        }
        ctx.body = asset.body;
        return;
      }
    } else if (path === '/ui/api/session' && read) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await sessionInfo(ctx);
      return;
    } else if (path === '/ui/api/permissions' && read) {
      const repository = typeof ctx.query.repository === 'string' ? ctx.query.repository : '';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { repository, delete: repository !== '' && (await mayDelete(ctx, repository)) };
      return;
    } else if (path === '/ui/api/login' && method === 'POST') {
      return login(ctx);
    } else if (path === '/ui/api/logout' && method === 'POST') {
      return logout(ctx);
    }
    respondWithError(ctx, 'UNSUPPORTED', { status: 404, message: 'page not found', detail: { path } });
  };
}

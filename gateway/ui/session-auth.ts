// The web UI calls the registry's own /v2 API with its session cookie: this middleware, before
// basicAuth, makes such a request the session's user's. Only when the request carries no
// credentials of its own, comes from the registry's own pages (Sec-Fetch-Site same-origin or
// none, and an Origin, when sent, equal to ours), and, for anything but GET/HEAD, carries the
// session's anti-CSRF token. Anything else is judged as if there were no cookie.
// The UI marks its requests (`X-Registry-UI`): a 401 to them carries no Basic challenge, which
// would make the browser pop up its own login dialog over the UI's.
import type { GatewayContext, GatewayMiddleware } from '../state.js';
import { cookieValue, CSRF_HEADER, SESSION_COOKIE, type Session, type Sessions } from './session.js';

export const UI_REQUEST_HEADER = 'x-registry-ui';

/** The origin the browser sees the registry at (behind a trusted proxy: the proxy's). */
export function ownOrigin(ctx: GatewayContext): string {
  return `${ctx.state.externalProto}://${ctx.state.externalHost}`;
}

/** Whether a request comes from the registry's own pages (or the address bar), as the browser tells. */
export function fromOwnPages(ctx: GatewayContext): boolean {
  const site = ctx.get('sec-fetch-site');
  if (site !== '' && site !== 'same-origin' && site !== 'none') return false;
  const origin = ctx.get('origin');
  return origin === '' || origin === ownOrigin(ctx);
}

/** The valid session of a request's cookie, when it comes from our pages. */
export async function sessionOf(ctx: GatewayContext, sessions: Sessions): Promise<Session | undefined> {
  const value = cookieValue(ctx.get('cookie'), SESSION_COOKIE);
  if (value === undefined || !fromOwnPages(ctx)) return undefined;
  return sessions.verify(value);
}

export function sessionAuth(sessions: Sessions): GatewayMiddleware {
  return async (ctx, next) => {
    if (ctx.state.user === undefined && ctx.get('authorization') === '') {
      const session = await sessionOf(ctx, sessions);
      const readOnly = ctx.method === 'GET' || ctx.method === 'HEAD';
      if (session && (readOnly || sessions.checkCsrf(session, ctx.get(CSRF_HEADER)))) ctx.state.user = session.user;
    }
    await next();
    if (ctx.status === 401 && ctx.get(UI_REQUEST_HEADER) !== '') ctx.remove('WWW-Authenticate');
  };
}

// Web UI sessions that were logged out, kept in the registry's storage so a logout holds on every
// gateway replica and across restarts (a session cookie is signed, not stored: without this list
// a copied cookie would open the UI again on another replica, or after a restart, until it
// expires). One small object per session, holding when the session would have expired; the
// expired ones are removed as new ones are written. Reached only through the internal paths
// (behind the internal token, like health and metrics); the gateway never proxies /_registry/.
import getRawBody from 'raw-body';
import type { Context, Next } from 'koa';
import { STORAGE_LOGGED_OUT_PATH } from '../common/internal-headers.js';
import { isPathNotFound, type StorageDriver } from './driver/driver.js';

/** Outside registry:2's tree (which it and `registry gc` walk), beside the data directory's `_control`. */
const DIRECTORY = '/_registry/ui-sessions/logged-out';
/** A session id is 16 random bytes in base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** Expired entries are looked for at most this often. */
const SWEEP_EVERY_MS = 3600_000;

export function loggedOutSessionPaths(driver: StorageDriver, now: () => number = Date.now) {
  let lastSweep = 0;
  const sweep = async (): Promise<void> => {
    lastSweep = now();
    const entries = await driver.list(DIRECTORY).catch(() => [] as string[]);
    for (const path of entries) {
      const until = await expiryOf(driver, path);
      if (until !== undefined && until * 1000 <= now()) await driver.delete(path).catch(() => undefined);
    }
  };

  return async function loggedOutSessions(ctx: Context, next: Next): Promise<void> {
    if (!ctx.path.startsWith(`${STORAGE_LOGGED_OUT_PATH}/`)) return next();
    const id = ctx.path.slice(STORAGE_LOGGED_OUT_PATH.length + 1);
    if (!SESSION_ID.test(id)) {
      ctx.status = 400;
      return;
    }
    const path = `${DIRECTORY}/${id}`;
    ctx.set('Cache-Control', 'no-store');
    if (ctx.method === 'GET') {
      const until = await expiryOf(driver, path);
      ctx.status = until !== undefined && until * 1000 > now() ? 200 : 404;
      return;
    }
    if (ctx.method === 'PUT') {
      const body = await getRawBody(ctx.req, { limit: 32, encoding: 'utf8' });
      if (!/^\d{1,12}$/.test(body)) {
        ctx.status = 400;
        return;
      }
      await driver.putContent(path, Buffer.from(body));
      ctx.status = 204;
      // In the background, and never a crash: a failed sweep is tried again an hour later.
      if (now() - lastSweep >= SWEEP_EVERY_MS) sweep().catch(() => undefined);
      return;
    }
    ctx.status = 405;
    ctx.set('Allow', 'GET, PUT');
  };
}

/** Seconds since the epoch when a recorded session would have expired; undefined when none is recorded. */
async function expiryOf(driver: StorageDriver, path: string): Promise<number | undefined> {
  try {
    const until = Number((await driver.getContent(path)).toString('utf8'));
    return Number.isFinite(until) ? until : undefined;
  } catch (err) {
    if (isPathNotFound(err)) return undefined;
    throw err;
  }
}

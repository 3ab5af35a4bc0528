// What storage answers on its internal paths (common/internal-headers.ts): its health, which
// the gateway's /readyz reports, and its metrics, which the gateway's debug listener serves.
import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import { STORAGE_HEALTH_PATH, STORAGE_METRICS_PATH } from '../common/internal-headers.js';
import { isPathNotFound, type StorageDriver } from './driver/driver.js';
import { storageRegistry } from './metrics.js';

export interface HealthOptions {
  driver: StorageDriver;
  /** storage.maintenance.readonly: the data directory may be read-only on purpose; not probed. */
  readOnly: boolean;
  metricsEnabled: boolean;
  draining: () => boolean;
  /** A check that takes longer fails (a hung network filesystem). */
  timeoutMs?: number;
}

export interface StorageHealth {
  status: 'ok' | 'unavailable' | 'draining';
  checks: Record<string, string>;
}

/** registry:2's storage driver check (stat of the root; missing is fine), then a write, read back and delete. */
export async function checkStorage(driver: StorageDriver, readOnly: boolean, timeoutMs = 5000): Promise<StorageHealth> {
  const checks: Record<string, string> = {};
  const run = async (name: string, check: () => Promise<void>) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    });
    try {
      await Promise.race([check(), timeout]);
      checks[name] = 'ok';
    } catch (err) {
      // The error's code only (EROFS, EACCES, ENOSPC...): never a path, /readyz needs no login.
      checks[name] = `failed: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    } finally {
      clearTimeout(timer);
    }
  };
  await run('driver', async () => {
    await driver.stat('/').catch((err: unknown) => {
      if (!isPathNotFound(err)) throw err;
    });
  });
  if (readOnly) checks.writable = 'skipped (read-only mode)';
  else {
    await run('writable', async () => {
      const probe = `/.readyz-${randomBytes(6).toString('hex')}`;
      const content = Buffer.from(`${Date.now()}`);
      await driver.putContent(probe, content);
      try {
        if (!(await driver.getContent(probe)).equals(content)) throw Object.assign(new Error('read back differs'), { code: 'EIO' });
      } finally {
        await driver.delete(probe).catch(() => undefined);
      }
    });
  }
  const ok = Object.values(checks).every((v) => !v.startsWith('failed'));
  return { status: ok ? 'ok' : 'unavailable', checks };
}

export function storageInternalPaths(options: HealthOptions) {
  return async function internalPaths(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === STORAGE_HEALTH_PATH && ctx.method === 'GET') {
      const health: StorageHealth = options.draining()
        ? { status: 'draining', checks: {} }
        : await checkStorage(options.driver, options.readOnly, options.timeoutMs);
      ctx.status = health.status === 'ok' ? 200 : 503;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = health;
      return;
    }
    if (ctx.path === STORAGE_METRICS_PATH && ctx.method === 'GET' && options.metricsEnabled) {
      ctx.set('Content-Type', storageRegistry.contentType);
      ctx.body = await storageRegistry.metrics();
      return;
    }
    return next();
  };
}

// registry:2's `storage.maintenance.readonly`: reads work, every write is refused.
import type { Context, Next } from 'koa';
import { RegistryError } from '../../common/errors.js';
import { READ_METHODS } from '../../common/v2-routes.js';

export async function readOnlyGuard(ctx: Context, next: Next): Promise<void> {
  if (!READ_METHODS.has(ctx.method)) throw new RegistryError('UNSUPPORTED', 'the registry is in read-only mode');
  await next();
}

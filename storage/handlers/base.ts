// `GET /v2/`: the API version check every client starts with. Asked by the gateway, it also
// names the directory storage allows the gateway to send blob files from (file handoff), when
// the driver keeps its files on this machine.
import type { Context } from 'koa';
import { FILE_HANDOFF_REQUEST_HEADER, FILE_HANDOFF_ROOT_HEADER } from '../../common/internal-headers.js';
import type { StorageDeps } from '../http/context.js';

export function apiVersionCheck({ registry }: StorageDeps) {
  return function versionCheck(ctx: Context): void {
    const root = ctx.get(FILE_HANDOFF_REQUEST_HEADER) ? registry.blobs.localRoot() : undefined;
    if (root !== undefined) ctx.set(FILE_HANDOFF_ROOT_HEADER, root);
    ctx.type = 'application/json';
    ctx.body = '{}';
  };
}

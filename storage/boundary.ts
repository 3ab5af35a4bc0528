// Nobody reaches storage around the gateway (DESIGN.md). Run on its own (`registry storage`,
// compose), storage starts only when that holds: a shared token (checked on every request, on
// every transport), or a unix socket in a directory that only this user can open. Loopback TCP
// without a token is refused: every local user, container on the host network and server-side
// request forgery can open it.
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseListenAddress } from '../common/config/address.js';
import type { RegistryConfig } from '../common/config/types.js';

const HOW_TO_FIX =
  'set REGISTRY_STORAGESERVICE_TOKEN (or REGISTRY_HTTP_SECRET) to the same secret for storage and gateway, ' +
  'or listen on a unix socket (REGISTRY_STORAGESERVICE_ADDR=unix:/dir/storage.sock) in a directory only this user can open (chmod 700)';

/** Throws an Error that names the variables when storage would answer anyone but the gateway. */
export async function checkOnlyGatewayCanReach(config: RegistryConfig['storageservice']): Promise<void> {
  const address = parseListenAddress(config.addr);
  const hasToken = config.token !== undefined && config.token !== '';
  // A socket directory we make ourselves is private from the start.
  if (address.kind === 'unix') await mkdir(dirname(address.path), { recursive: true, mode: 0o700 });
  if (hasToken) return;
  if (address.kind === 'tcp') {
    throw new Error(`storage refuses to listen on ${config.addr} without a token: any local process could push and delete; ${HOW_TO_FIX}`);
  }
  const dir = dirname(address.path);
  const info = await stat(dir);
  const uid = process.getuid?.() ?? 0;
  const ownedByUs = info.uid === uid || info.uid === 0;
  // Connecting to a unix socket needs search permission on its directory: no bit for group or
  // others means only the owner (and root) can reach the socket, whatever the socket file's mode.
  if (!info.isDirectory() || !ownedByUs || (info.mode & 0o077) !== 0) {
    throw new Error(
      `storage refuses to listen on ${config.addr} without a token: ${dir} is ${describe(info.mode, info.uid)}, ` +
        `so other users could open the socket; ${HOW_TO_FIX}`,
    );
  }
}

function describe(mode: number, uid: number): string {
  return `mode ${(mode & 0o777).toString(8).padStart(3, '0')} owned by uid ${uid}`;
}

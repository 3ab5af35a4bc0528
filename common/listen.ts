// Listening on a configured address, for both processes: TCP (`host:port`, `:port`) or a unix
// socket, replacing a socket file left by a previous run but never any other file.
import { lstat, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import type { ListenAddress } from './config/address.js';

export async function listenOn(server: Server, address: ListenAddress): Promise<void> {
  if (address.kind === 'unix' && (await lstat(address.path).catch(() => undefined))?.isSocket()) await rm(address.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const options = address.kind === 'unix' ? { path: address.path } : { host: address.host || undefined, port: address.port };
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

// What every e2e test file starts once (ava `test.before`) and stops at the end
// (`test.after.always`): the registry under test, nginx in front of it on port 80 as
// docker-registry.home, and the two addresses the clients use, each with htpasswd auth.
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  acquireE2eLock,
  addHostsEntry,
  assertRoot,
  makeTempDir,
  trackClientGlobalPaths,
} from './machine.js';
import { startNginxFront, type NginxFront } from './nginx-front.js';
import { startRegistryUnderTest, type RegistryUnderTest } from './registry-under-test.js';

export interface Endpoint {
  /** `direct` (the gateway's own port) or `nginx` (port 80, docker-registry.home). */
  readonly label: 'direct' | 'nginx';
  /** What goes in an image reference: `127.0.0.1:<port>` or `docker-registry.home`. */
  readonly host: string;
  /** `http://<host>` */
  readonly url: string;
}

export interface E2eWorld {
  /** Scratch directory for this test file; removed at the end unless E2E_KEEP_TMP=1. */
  readonly dir: string;
  readonly registry: RegistryUnderTest;
  readonly nginx: NginxFront;
  readonly direct: Endpoint;
  readonly viaNginx: Endpoint;
  readonly endpoints: readonly Endpoint[];
  /** Runs `undo` at stop time, before the world's own daemons stop (last registered runs first). */
  onStop(undo: () => Promise<void>): void;
  stop(): Promise<void>;
}

export async function startE2eWorld(name: string): Promise<E2eWorld> {
  assertRoot();
  const undo: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    while (undo.length > 0) {
      const step = undo.pop()!;
      const started = Date.now();
      try {
        await step();
        if (process.env.E2E_DEBUG) console.error(`stop step ${undo.length} took ${Date.now() - started} ms`);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `stopping the ${name} e2e world failed`);
  };
  try {
    const lock = await acquireE2eLock();
    undo.push(() => lock.release());
    undo.push(await trackClientGlobalPaths());
    const dir = await makeTempDir(`e2e-${name}`);
    // nginx workers run unprivileged: they must be able to reach their temp dirs inside.
    await chmod(dir, 0o711);
    if (process.env.E2E_KEEP_TMP !== '1') undo.push(() => rm(dir, { recursive: true, force: true }));
    const registry = await startRegistryUnderTest({ dir: join(dir, 'registry'), trustedProxies: ['127.0.0.1'] });
    undo.push(() => registry.stop());
    undo.push(await addHostsEntry());
    const nginx = await startNginxFront({ dir: join(dir, 'nginx'), upstreamPort: registry.port });
    undo.push(() => nginx.stop());
    const direct: Endpoint = { label: 'direct', host: registry.host, url: `http://${registry.host}` };
    const viaNginx: Endpoint = { label: 'nginx', host: nginx.host, url: `http://${nginx.host}` };
    return {
      dir,
      registry,
      nginx,
      direct,
      viaNginx,
      endpoints: [direct, viaNginx],
      onStop: (fn) => undo.push(fn),
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

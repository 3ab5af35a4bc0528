// What every e2e test file starts once (ava `test.before`) and stops at the end
// (`test.after.always`): the registry under test, nginx in front of it on port 80 as
// docker-registry.home, and the two addresses the clients use, each with htpasswd auth.
import test from 'ava';
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
  /** Scratch directory for this test file; removed at the end unless a test failed or E2E_KEEP_TMP=1. */
  readonly dir: string;
  readonly registry: RegistryUnderTest;
  readonly nginx: NginxFront;
  readonly direct: Endpoint;
  readonly viaNginx: Endpoint;
  /** `direct` or `viaNginx` by label, for tests written once for both. */
  endpoint(label: Endpoint['label']): Endpoint;
  /** Runs `undo` at stop time, before the world's own daemons stop (last registered runs first). */
  onStop(undo: () => Promise<void>): void;
  /** Keeps the scratch directory (logs, data) after stop, for a look at what went wrong. */
  keepDir(): void;
  stop(): Promise<void>;
}

/**
 * The ava hooks of an e2e test file: start the world (and what `setup` adds) before the tests,
 * stop it after them, keep its directory when anything failed. Returns the world's getter.
 */
export function useE2eWorld(name: string, setup?: (world: E2eWorld) => Promise<void>, options: WorldOptions = {}): () => E2eWorld {
  let world: E2eWorld | undefined;
  test.before(async () => {
    world = await startE2eWorld(name, options);
    try {
      await setup?.(world);
    } catch (error) {
      world.keepDir();
      throw error;
    }
  });
  test.afterEach.always((t) => {
    if (!t.passed) world?.keepDir();
  });
  test.after.always(async () => {
    await world?.stop();
  });
  return () => {
    if (!world) throw new Error(`the ${name} e2e world is not running`);
    return world;
  };
}

export interface WorldOptions {
  /** More REGISTRY_* variables for the registry under test. */
  registryEnv?: Record<string, string>;
}

export async function startE2eWorld(name: string, options: WorldOptions = {}): Promise<E2eWorld> {
  assertRoot();
  const undo: Array<() => Promise<void>> = [];
  let keep = false;
  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    while (undo.length > 0) {
      try {
        await undo.pop()!();
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
    undo.push(async () => {
      if (keep || process.env.E2E_KEEP_TMP === '1') console.error(`e2e ${name}: kept ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    });
    const registry = await startRegistryUnderTest({ dir: join(dir, 'registry'), trustedProxies: ['127.0.0.1'], env: options.registryEnv });
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
      endpoint: (label) => (label === 'direct' ? direct : viaNginx),
      onStop: (fn) => undo.push(fn),
      keepDir: () => {
        keep = true;
      },
      stop,
    };
  } catch (error) {
    keep = true;
    await stop().catch(() => {});
    throw error;
  }
}

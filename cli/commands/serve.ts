// `registry storage` and `registry gateway`: one process in the foreground until SIGTERM/SIGINT
// (or until the `registry start` parent that spawned it goes away).
import type { RegistryConfig } from '../../common/config/types.js';
import { createLogger, type Logger } from '../../common/logger.js';
import type { RunningServer } from '../../common/running-server.js';
import { loadForCommand } from '../config-loading.js';
import { CommandError, CONFIG_HELP, CONFIG_OPTION, parseCommandLine } from '../usage.js';

export type Service = 'storage' | 'gateway';

/** What a child of `registry start` sends over IPC once it listens. */
export interface ReadyMessage {
  ready: Service;
  urls: string[];
}

type RunService = (config: RegistryConfig, logger: Logger) => Promise<RunningServer>;

/** Passed by `registry start`, which already printed the configuration warnings. */
export const WARNINGS_SHOWN_FLAG = '--config-warnings-shown';

const HELP: Record<Service, string> = {
  storage: `Usage: registry storage [--config FILE]

Runs only the storage service in the foreground: the OCI Distribution API on
storageservice.addr, data under storage.filesystem.rootdirectory. Only the gateway may reach it:
it refuses to start without a shared token (REGISTRY_STORAGESERVICE_TOKEN or REGISTRY_HTTP_SECRET,
the same value for the gateway) unless it listens on a unix socket in a directory only this user
can open (mode 700). Stops on SIGTERM or SIGINT. \`registry start\` runs it with the gateway.

Options:
${CONFIG_HELP}
  -h, --help          show this help
`,
  gateway: `Usage: registry gateway [--config FILE]

Runs only the gateway in the foreground: listens on http.addr (default :5000), checks htpasswd
logins and forwards /v2/ to the storage service at storageservice.addr (or storageservice.url).
Stops on SIGTERM or SIGINT. \`registry start\` runs it together with the storage service.

Options:
${CONFIG_HELP}
  -h, --help          show this help
`,
};

// Loaded at run time: storage/ and gateway/ are built by others and the CLI must compile alone.
const MODULES: Record<Service, { specifier: string; exportName: string }> = {
  storage: { specifier: '../../storage/main.js', exportName: 'runStorageService' },
  gateway: { specifier: '../../gateway/main.js', exportName: 'runGateway' },
};

export async function serveCommand(service: Service, args: string[]): Promise<number> {
  const parsed = parseCommandLine(service, args, { ...CONFIG_OPTION, 'config-warnings-shown': { type: 'boolean' } }, HELP[service]);
  if (!parsed) return 0;
  const { config, warnings } = loadForCommand(parsed.values.config);
  const logger = createLogger(service, config.log.level, config.log.fields);
  if (!parsed.values['config-warnings-shown']) for (const warning of warnings) logger.warn(`configuration: ${warning}`);

  // A stop asked while the service starts (it answers requests before it has finished starting)
  // is kept and acted on once it has started, instead of Node's default: death by the signal.
  // One listener for the whole life of the process: removing a signal's last listener closes
  // its handle, and a signal caught but not yet dispatched is then lost (a SIGTERM right after
  // the first answer left storage running).
  const signals = new StopSignals();
  const run = await loadService(service);
  let server: RunningServer;
  try {
    server = await run(config, logger);
  } catch (error) {
    // Expected failures (address in use, missing htpasswd file) read best as one line.
    logger.error({ err: error }, `${service} could not start`);
    throw new CommandError(`${service} could not start: ${(error as Error).message}`);
  }
  logger.info({ urls: server.urls }, `${service} started`);
  // `registry start` learns where we listen (storage may be on a port the system chose).
  process.send?.({ ready: service, urls: server.urls } satisfies ReadyMessage);
  return waitForStop(service, server, logger, config.http.draintimeoutMs, signals);
}

/** SIGTERM and SIGINT, kept until someone handles them, then passed on as they come. */
class StopSignals {
  private readonly early: string[] = [];
  private handler: ((signal: string) => void) | undefined;

  constructor() {
    const receive = (signal: string) => (this.handler ? this.handler(signal) : this.early.push(signal));
    process.on('SIGTERM', receive);
    process.on('SIGINT', receive);
  }

  /** From now on each signal goes to `handler`; one that came before goes to it at once. */
  handle(handler: (signal: string) => void): void {
    this.handler = handler;
    const first = this.early[0];
    if (first !== undefined) handler(first);
  }
}

async function loadService(service: Service): Promise<RunService> {
  const { specifier, exportName } = MODULES[service];
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`${service}/main.js`)) {
      throw new CommandError(`the ${service} service is not part of this build (${specifier.replace('../../', 'dist/')} is missing)`);
    }
    throw error;
  }
  const run = module[exportName];
  if (typeof run !== 'function') throw new CommandError(`${specifier} does not export ${exportName}()`);
  return run as RunService;
}

function waitForStop(service: Service, server: RunningServer, logger: Logger, drainTimeoutMs: number, signals: StopSignals): Promise<number> {
  return new Promise((resolveExit) => {
    let stopping = false;
    const stop = (reason: string) => {
      if (stopping) {
        logger.warn(`${reason} again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      logger.info({ reason }, `${service} stopping`);
      // SIGTERM and SIGINT drain (http.draintimeout); a second one exits at once.
      const done = server.drain ? server.drain(drainTimeoutMs) : server.close();
      done.then(
        () => {
          logger.info(`${service} stopped`);
          resolveExit(0);
        },
        (err: unknown) => {
          logger.error({ err }, `${service} did not stop cleanly`);
          resolveExit(1);
        },
      );
    };
    signals.handle(stop);
    // Started by `registry start`: if that parent dies (even by SIGKILL), do not live on orphaned,
    // not even to finish requests: the registry was killed, and a gateway left serving the
    // keep-alive connections of a load balancer would answer them 503 (its storage is gone too)
    // instead of letting the balancer move on to another replica. Writes are crash-safe.
    if (process.send !== undefined) {
      process.on('disconnect', () => {
        logger.warn(`${service}: parent process gone, exiting now`);
        process.exit(1);
      });
    }
  });
}

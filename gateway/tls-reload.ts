// Certificate renewal without a restart: poll both files (polling survives the rename-into-place
// that certbot and friends do, where fs.watch loses track), and when either changes, load the
// pair, check it, and hand it to the server. A broken pair is logged and the old one kept.
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { TlsConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import { loadTlsMaterial } from './tls-files.js';

export interface CertificateWatcher {
  stop(): void;
}

/** Pause after a change before reading, so a certificate and key written one after the other land together. */
const SETTLE_MS = 100;

export function watchCertificates(
  servers: HttpsServer[],
  tls: TlsConfig,
  logger: Logger,
  pollIntervalMs: number,
): CertificateWatcher {
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const reload = async (): Promise<void> => {
    try {
      const material = await loadTlsMaterial(tls);
      if (stopped) return;
      for (const server of servers) server.setSecureContext(material.options);
      logger.info({ certificate: tls.certificate, ...material.summary }, 'TLS certificate reloaded');
    } catch (err) {
      logger.error(
        { certificate: tls.certificate, key: tls.key, err: { message: (err as Error).message } },
        'TLS certificate change ignored: the new certificate/key pair is not usable, keeping the old one',
      );
    }
  };

  const runReload = (): void => {
    if (reloading) {
      again = true;
      return;
    }
    reloading = reload().finally(() => {
      reloading = undefined;
      if (again && !stopped) {
        again = false;
        runReload();
      }
    });
  };

  const onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    clearTimeout(timer);
    timer = setTimeout(runReload, SETTLE_MS);
  };

  const files = [...new Set([tls.certificate, tls.key])];
  for (const file of files) watchFile(file, { interval: pollIntervalMs, persistent: false }, onChange);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      for (const file of files) unwatchFile(file, onChange);
    },
  };
}

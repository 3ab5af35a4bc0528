// The container's health probe (the image's HEALTHCHECK and compose's `healthcheck:`): the image
// has no curl, so node asks the process in this container. `gateway` (default; also right for
// `start`): GET READY_PATH (/readyz: storage reachable, its
// driver answering, data writable) on http.addr must answer 200. `storage`: any HTTP answer below 500 on
// storageservice.addr (its unix socket in compose). Exit 0 healthy, 1 not, with one line saying why.
//   node /app/dist/cli/healthcheck.js [gateway|storage]
import { parseListenAddress } from '../common/config/address.js';
import { READY_PATH } from '../gateway/middleware/routes.js';
import { loadForCommand } from './config-loading.js';
import { probe } from './wait-http.js';

async function main(service: string): Promise<number> {
  const { config } = loadForCommand(undefined);
  if (service === 'storage') {
    const status = await probe(parseListenAddress(config.storageservice.addr), { path: '/v2/', timeoutMs: 4000 });
    if (status > 0 && status < 500) return 0;
    process.stderr.write(`storage answered ${status}\n`);
    return 1;
  }
  // With tls.addr the TLS listener is separate and http.addr stays plain HTTP.
  const tls = config.http.tls !== undefined && config.http.tls.addr === undefined;
  const status = await probe(parseListenAddress(config.http.addr), { tls, path: READY_PATH, timeoutMs: 4000 });
  if (status === 200) return 0;
  process.stderr.write(`gateway answered ${status} on ${READY_PATH}\n`);
  return 1;
}

main(process.argv[2] ?? 'gateway').then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`unhealthy: ${(error as Error).message}\n`);
    process.exit(1);
  },
);

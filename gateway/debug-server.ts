// registry:2's debug listener (`http.debug.addr`), never the public port: here it serves
// Prometheus metrics on `http.debug.prometheus.path` (default /metrics), the gateway's and
// storage's in one answer. Storage's are read over the internal connection, with the internal
// token, at each scrape (common/internal-headers.ts STORAGE_METRICS_PATH): one scrape target for
// the registry whether storage runs beside the gateway, in its own container or behind a unix
// socket, and storage needs no port of its own. Everything else is 404.
import http from 'node:http';
import type { RegistryConfig } from '../common/config/types.js';
import { isLoopbackAddress, parseListenAddress } from '../common/config/address.js';
import { STORAGE_METRICS_PATH } from '../common/internal-headers.js';
import { listenOn } from '../common/listen.js';
import type { Logger } from '../common/logger.js';
import { mergeExpositions } from '../common/metrics.js';
import { gatewayMetrics, gatewayRegistry } from './metrics.js';
import type { Upstream } from './upstream.js';
import { getFromUpstream } from './upstream-request.js';

export interface DebugServer {
  url: string;
  close(): Promise<void>;
}

export async function startDebugServer(
  debug: NonNullable<RegistryConfig['http']['debug']>,
  storage: { upstream: Upstream; internalToken?: string },
  logger: Logger,
): Promise<DebugServer> {
  const { enabled, path } = debug.prometheus;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://debug');
    if (!enabled || url.pathname !== path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    scrape(storage, logger).then(
      (text) => {
        res.writeHead(200, { 'content-type': gatewayRegistry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        logger.error({ err }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const address = parseListenAddress(debug.addr);
  await listenOn(server, address);
  const bound = server.address();
  const url = typeof bound === 'string' || bound === null ? `unix:${debug.addr}` : `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  logger.info({ url, metrics: enabled ? path : 'off' }, 'debug listener');
  if (!isLoopbackAddress(address)) logger.warn({ url }, 'the debug listener has no authentication and listens beyond loopback: keep it on a private network');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function scrape(storage: { upstream: Upstream; internalToken?: string }, logger: Logger): Promise<string> {
  let storageText = '';
  try {
    const answer = await getFromUpstream(storage.upstream, {
      path: STORAGE_METRICS_PATH,
      internalToken: storage.internalToken,
      requestId: 'metrics-scrape',
      timeoutMs: 5000,
    });
    if (answer.status === 200) storageText = answer.body.toString('utf8');
    else logger.debug({ status: answer.status }, "storage's metrics unavailable (is http.debug.prometheus.enabled set for storage too?)");
  } catch (err) {
    logger.debug({ err }, "storage's metrics could not be read");
  }
  gatewayMetrics.storageScrapeUp.set(storageText === '' ? 0 : 1);
  return mergeExpositions([await gatewayRegistry.metrics(), storageText]);
}

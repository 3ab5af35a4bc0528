// Waiting for a just-started process to answer HTTP, on TCP or a unix socket.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connectTarget, type ListenAddress } from '../common/config/address.js';

/** One GET; resolves with the status of any HTTP answer (401 counts: the server is up). */
export function probe(address: ListenAddress, options: { tls?: boolean; path?: string; timeoutMs?: number } = {}): Promise<number> {
  const request = options.tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...connectTarget(address),
        method: 'GET',
        path: options.path ?? '/v2/',
        agent: false,
        timeout: options.timeoutMs ?? 2000,
        rejectUnauthorized: false, // only asks "is it up?"; certificates are the clients' business
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls until `address` answers, `stillRunning()` turns false, or `timeoutMs` passes. Returns
 * the HTTP status, or throws with the reason.
 */
export async function waitUntilAnswering(
  address: ListenAddress,
  options: { tls?: boolean; timeoutMs: number; stillRunning: () => boolean },
): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (!options.stillRunning()) throw new Error('the process exited before it answered');
    try {
      return await probe(address, { tls: options.tls });
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer after ${Math.round(options.timeoutMs / 1000)}s (${lastError})`);
}

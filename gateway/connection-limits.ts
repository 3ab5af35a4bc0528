// Caps on open client connections, in all and per client address, so that one address holding
// thousands of idle or slow sockets cannot starve everybody else (file descriptors, memory).
// A connection over a cap is closed at once, before TLS or HTTP: answering would cost what the
// cap saves. Trusted proxies (nginx in front) carry many clients and count only in the total.
import type { Server } from 'node:net';
import type { Logger } from '../common/logger.js';
import { normalizeAddress, type TrustFunction } from './trust.js';

export interface ConnectionLimits {
  total: number;
  perClient: number;
}

/** Counts shared by every listener of the gateway (HTTP and HTTPS at once). */
export class ConnectionCounter {
  private readonly byAddress = new Map<string, number>();
  private open = 0;
  private lastWarning = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly trusted: TrustFunction,
    private readonly logger: Logger,
  ) {}

  watch(server: Server): void {
    server.on('connection', (socket) => {
      const address = normalizeAddress(socket.remoteAddress ?? '');
      const perClient = this.byAddress.get(address) ?? 0;
      const exempt = this.trusted(address, 0);
      if (this.open >= this.limits.total || (!exempt && perClient >= this.limits.perClient)) {
        this.warn(address, perClient);
        socket.destroy();
        return;
      }
      this.open++;
      this.byAddress.set(address, perClient + 1);
      socket.once('close', () => {
        this.open--;
        const left = (this.byAddress.get(address) ?? 1) - 1;
        if (left === 0) this.byAddress.delete(address);
        else this.byAddress.set(address, left);
      });
    });
  }

  private warn(address: string, perClient: number): void {
    // Once a minute at most: a flood must not turn into a flood of log lines.
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    this.logger.warn({ client: address, clientConnections: perClient, openConnections: this.open, ...this.limits }, 'connection refused: too many open connections');
  }
}

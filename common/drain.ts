// Graceful stop for both processes' HTTP servers (registry:2's `http.draintimeout`): stop taking
// new connections, keep serving the requests that arrive on the connections already open (a
// push's PUT and its manifest come after its PATCH, on the same keep-alive connection), close
// each connection once it has been idle for a moment, and when the drain timeout is reached,
// cut whatever is left.
import net from 'node:net';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * How long a connection may sit idle during a drain before it is closed. Clients send the next
 * request of a push within milliseconds, and reuse the connection that answered last (Go's
 * transport, which docker, skopeo and containerd use, takes the most recently used one).
 */
export const DRAIN_IDLE_MS = 2000;
const SWEEP_MS = 100;

interface Connection {
  active: number;
  idleSince: number;
}

export interface DrainOptions {
  timeoutMs: number;
  idleMs?: number;
  /**
   * Keep listening while draining (storage: its only client is the gateway, which may still need
   * a new connection for a request on a client connection it is draining). The drain then ends
   * once no request at all has been active for `idleMs`.
   */
  keepListening?: boolean;
}

export class ConnectionDrain {
  private readonly connections = new Map<Duplex, Connection>();
  private readonly servers: HttpServer[] = [];
  private draining: Promise<void> | undefined;
  private lastActivity = Date.now();

  /** Follows the server's connections; `secure`: count TLS sockets (the ones requests arrive on). */
  watch(server: HttpServer, secure = false): void {
    this.servers.push(server);
    server.on(secure ? 'secureConnection' : 'connection', (socket: Duplex) => this.add(socket));
  }

  /** Call for every request (before the app sees it). */
  track(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.add(req.socket);
    connection.active++;
    this.lastActivity = Date.now();
    res.once('close', () => {
      connection.active--;
      connection.idleSince = this.lastActivity = Date.now();
    });
  }

  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /** Requests being answered now, on every watched server. */
  get activeRequests(): number {
    let active = 0;
    for (const connection of this.connections.values()) active += connection.active;
    return active;
  }

  drain(options: DrainOptions): Promise<void> {
    this.draining ??= this.run(options);
    return this.draining;
  }

  private add(socket: Duplex): Connection {
    let connection = this.connections.get(socket);
    if (!connection) {
      connection = { active: 0, idleSince: Date.now() };
      this.connections.set(socket, connection);
      socket.once('close', () => this.connections.delete(socket));
    }
    return connection;
  }

  private async run({ timeoutMs, idleMs = DRAIN_IDLE_MS, keepListening = false }: DrainOptions): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // net.Server's close, not http.Server's: the latter also closes idle keep-alive connections
    // at once, one of which may be about to carry the PUT that completes an upload.
    const closed = keepListening ? [] : this.servers.map((server) => new Promise<void>((resolve) => (server.listening ? net.Server.prototype.close.call(server, () => resolve()) : resolve())));
    await new Promise<void>((resolve) => {
      const sweep = (): void => {
        const now = Date.now();
        if (now >= deadline) {
          for (const socket of this.connections.keys()) socket.destroy();
          clearInterval(timer);
          return resolve();
        }
        if (keepListening) {
          if (this.activeRequests === 0 && now - this.lastActivity >= idleMs) {
            clearInterval(timer);
            resolve();
          }
          return;
        }
        for (const [socket, connection] of this.connections) {
          if (connection.active === 0 && now - connection.idleSince >= idleMs) closeGently(socket);
        }
        if (this.connections.size === 0) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(sweep, SWEEP_MS);
      sweep();
    });
    // A TLS handshake still under way is no tracked connection yet: it does not hold the stop up.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1000)));
    await Promise.race([Promise.all(closed), late]);
    clearTimeout(timer);
  }
}

/** FIN (and TLS close_notify) first, so a client reading its last answer gets all of it; reset if it lingers. */
function closeGently(socket: Duplex): void {
  if (socket.writableEnded) return;
  socket.end();
  setTimeout(() => socket.destroy(), 2000).unref();
}

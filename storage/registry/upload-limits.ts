// Caps on open upload sessions, per client and in total: each session holds files and a hash
// state, and a script can open thousands a second and never finish them. Sessions finished,
// cancelled or dropped stop counting at once; one left idle stops counting after IDLE_MS (an
// abandoned push must not lock its user out until the purger runs days later). Counted in this
// process: a cap is protection, not state anyone needs to agree on.
import { RegistryError } from '../../common/errors.js';

export interface UploadLimits {
  /** Open sessions in total. */
  maxUploads: number;
  /** Open sessions per client (user, or else address). */
  maxUploadsPerClient: number;
}

const IDLE_MS = 30 * 60_000;

interface Session {
  client: string;
  lastActive: number;
}

export class UploadSessionLimiter {
  private readonly sessions = new Map<string, Session>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly limits: UploadLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sessions counted now (registry_uploads_in_progress). */
  get open(): number {
    return this.sessions.size;
  }

  /** Throws TOOMANYREQUESTS (429) when `client` may not open another session now. */
  admit(client: string): void {
    if (this.isFull(client)) this.forgetIdle();
    if (this.sessions.size >= this.limits.maxUploads) {
      throw tooMany(`the registry has ${this.sessions.size} open uploads, its limit; retry later`);
    }
    if ((this.perClient.get(client) ?? 0) >= this.limits.maxUploadsPerClient) {
      throw tooMany(`you have ${this.limits.maxUploadsPerClient} open uploads, the limit per client: finish or cancel some`);
    }
  }

  opened(session: string, client: string): void {
    if (this.sessions.has(session)) return;
    this.sessions.set(session, { client, lastActive: this.now() });
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
  }

  touch(session: string): void {
    const entry = this.sessions.get(session);
    if (entry) entry.lastActive = this.now();
  }

  closed(session: string): void {
    const entry = this.sessions.get(session);
    if (!entry) return;
    this.sessions.delete(session);
    const count = (this.perClient.get(entry.client) ?? 1) - 1;
    if (count > 0) this.perClient.set(entry.client, count);
    else this.perClient.delete(entry.client);
  }

  private isFull(client: string): boolean {
    return this.sessions.size >= this.limits.maxUploads || (this.perClient.get(client) ?? 0) >= this.limits.maxUploadsPerClient;
  }

  private forgetIdle(): void {
    const cutoff = this.now() - IDLE_MS;
    for (const [session, entry] of this.sessions) if (entry.lastActive < cutoff) this.closed(session);
  }
}

function tooMany(message: string): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', message, undefined, { headers: { 'Retry-After': '60' } });
}

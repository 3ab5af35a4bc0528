// Delivery to one endpoint: a bounded queue drained by one loop that POSTs batches of events and
// retries a failed batch until it is delivered, as registry:2's retrying sink does: after
// `threshold` failures in a row it waits `backoff` before each attempt. A push only appends to
// the queue (never waits for the endpoint). A dead endpoint keeps at most `queuesize` events:
// past that the oldest are dropped, counted, and a warning is logged (at most once every 10 s,
// with the counts) so memory stays bounded whatever the endpoint does.
import type { NotificationEndpoint } from '../../common/config/notifications.js';
import type { Logger } from '../../common/logger.js';
import { EVENTS_MEDIA_TYPE, type Event } from './events.js';

/** Events per POST: registry:2 sends one; a backlog goes out in batches so it drains. */
const MAX_BATCH = 100;
/** Pause between quick retries below the threshold. */
const RETRY_PAUSE_MS = 100;
const DROP_WARNING_EVERY_MS = 10_000;
/** How long the first event waits for others to share its POST. */
const GATHER_MS = 25;

export interface EndpointCounters {
  /** Events delivered (the endpoint answered 2xx). */
  sent: number;
  /** POSTs that failed (an error, a timeout or a status outside 2xx); the events are retried. */
  failures: number;
  /** Events dropped because the queue was full (oldest first). */
  dropped: number;
  /** Events waiting, the batch in flight included. */
  pending: number;
}

export class EndpointQueue {
  private queue: Event[] = [];
  private inFlight: Event[] = [];
  private running = false;
  private stopped = false;
  private failuresInRow = 0;
  private lastDropWarning = 0;
  private droppedSinceWarning = 0;
  readonly counters: EndpointCounters = { sent: 0, failures: 0, dropped: 0, pending: 0 };

  constructor(
    readonly endpoint: NotificationEndpoint,
    private readonly logger: Logger,
    private readonly post: (batch: Event[]) => Promise<void> = (batch) => postEvents(endpoint, batch),
  ) {}

  /** Queues an event; never waits. */
  push(event: Event): void {
    if (this.stopped) return;
    this.queue.push(event);
    const over = this.queue.length + this.inFlight.length - this.endpoint.queuesize;
    if (over > 0) {
      // Drop from the oldest queued events; the batch in flight is kept (it is being retried).
      const removed = this.queue.splice(0, Math.min(over, this.queue.length));
      this.counters.dropped += removed.length;
      this.droppedSinceWarning += removed.length;
      const now = Date.now();
      if (now - this.lastDropWarning >= DROP_WARNING_EVERY_MS) {
        this.logger.warn(
          {
            endpoint: this.endpoint.name,
            dropped: this.droppedSinceWarning,
            droppedTotal: this.counters.dropped,
            queued: this.queue.length + this.inFlight.length,
            oldestDropped: removed[0]?.timestamp,
          },
          'notification queue full: the oldest events were dropped',
        );
        this.lastDropWarning = now;
        this.droppedSinceWarning = 0;
      }
    }
    this.counters.pending = this.queue.length + this.inFlight.length;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        // Events of one push come within milliseconds: gathered, they take one POST instead of
        // several (under load the POSTs cost the storage process more than the events).
        if (this.queue.length < MAX_BATCH) await this.sleep(GATHER_MS);
        this.inFlight = this.queue.splice(0, MAX_BATCH);
        while (!this.stopped) {
          try {
            await this.post(this.inFlight);
            this.counters.sent += this.inFlight.length;
            this.failuresInRow = 0;
            break;
          } catch (err) {
            this.counters.failures++;
            this.failuresInRow++;
            if (this.failuresInRow === this.endpoint.threshold) {
              this.logger.warn({ endpoint: this.endpoint.name, err, failures: this.failuresInRow }, 'notification endpoint failing: retrying with backoff');
            }
            await this.sleep(this.failuresInRow >= this.endpoint.threshold ? this.endpoint.backoffMs : RETRY_PAUSE_MS);
          }
        }
        this.inFlight = [];
        this.counters.pending = this.queue.length;
      }
    } finally {
      this.running = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      if (this.stopped) resolve();
    });
  }

  /** Waits up to `graceMs` for the queue to empty, then stops. */
  async close(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.counters.pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    this.stop();
  }

  /** Stops delivering; what is queued is dropped (logged with its count). */
  stop(): void {
    this.stopped = true;
    const left = this.queue.length + this.inFlight.length;
    if (left > 0) this.logger.warn({ endpoint: this.endpoint.name, events: left }, 'notifications not delivered before stopping');
    this.queue = [];
  }
}

export async function postEvents(endpoint: NotificationEndpoint, events: Event[]): Promise<void> {
  const headers = new Headers();
  for (const [name, values] of Object.entries(endpoint.headers)) for (const value of values) headers.append(name, value);
  headers.set('content-type', EVENTS_MEDIA_TYPE);
  const res = await fetch(endpoint.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ events }),
    signal: AbortSignal.timeout(endpoint.timeoutMs),
    redirect: 'manual',
  });
  await res.body?.cancel().catch(() => undefined);
  // registry:2 counts 2xx (and 3xx) as delivered.
  if (res.status < 200 || res.status >= 400) throw new Error(`${endpoint.name} answered ${res.status}`);
}

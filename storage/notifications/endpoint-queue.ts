// Delivery to one endpoint: a bounded queue drained by one loop that POSTs batches of events and
// retries a failed batch until it is delivered, as registry:2's retrying sink does: after
// `threshold` failures in a row it waits `backoff` before each attempt. A push only appends to
// the queue (never waits for the endpoint). A dead endpoint keeps at most `queuesize` events:
// past that the oldest are dropped, counted, and a warning is logged (at most once every 10 s,
// with the counts) so memory stays bounded whatever the endpoint does. Events wait as their JSON
// text: one string each instead of five objects, which the young generation would otherwise
// promote under load (a pull a millisecond, each waiting 25 ms) and full GCs would then mark.
import http from 'node:http';
import https from 'node:https';
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

/** An event as JSON text, as it goes into a POST. */
type SerializedEvent = string;

export class EndpointQueue {
  private queue: SerializedEvent[] = [];
  private inFlight: SerializedEvent[] = [];
  private running = false;
  private stopped = false;
  private failuresInRow = 0;
  private lastDropWarning = 0;
  private droppedSinceWarning = 0;
  readonly counters: EndpointCounters = { sent: 0, failures: 0, dropped: 0, pending: 0 };

  constructor(
    readonly endpoint: NotificationEndpoint,
    private readonly logger: Logger,
    private readonly post: (batch: SerializedEvent[]) => Promise<void> = eventPoster(endpoint),
  ) {}

  /** Queues an event; never waits. */
  push(event: Event): void {
    this.pushSerialized(JSON.stringify(event));
  }

  /** Queues an event already turned into JSON (once for every endpoint); never waits. */
  pushSerialized(event: SerializedEvent): void {
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
            oldestDropped: removed[0] === undefined ? undefined : timestampOf(removed[0]),
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

function timestampOf(event: SerializedEvent): string | undefined {
  return (JSON.parse(event) as Event).timestamp;
}

/**
 * POSTs `{"events":[…]}`, the envelope registry:2 sends, over keep-alive connections of its own.
 * node:http rather than fetch: fetch cost ~3x the CPU per POST here (1.0-1.7 ms against 0.3-0.5,
 * sink included), which pulls paid for in the storage process.
 */
export function eventPoster(endpoint: NotificationEndpoint): (events: SerializedEvent[]) => Promise<void> {
  const url = new URL(endpoint.url);
  const secure = url.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers: http.OutgoingHttpHeaders = { ...endpoint.headers, 'content-type': EVENTS_MEDIA_TYPE };
  return (events) =>
    new Promise<void>((resolve, reject) => {
      const body = Buffer.from(`{"events":[${events.join(',')}]}`);
      const req = (secure ? https : http).request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
          clearTimeout(timer);
          // registry:2 counts 2xx (and 3xx: redirects are not followed) as delivered.
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 400) resolve();
          else reject(new Error(`${endpoint.name} answered ${status}`));
        });
        res.on('error', reject);
      });
      // The whole POST, answer included, within `timeout`, as registry:2's HTTP client.
      const timer = setTimeout(() => req.destroy(new Error(`${endpoint.name}: no answer within ${endpoint.timeoutMs} ms`)), endpoint.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
}

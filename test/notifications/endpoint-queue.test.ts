// Delivery to one endpoint, with a real HTTP sink: a failing endpoint gets the same events again
// until it takes them (backoff after `threshold` failures), and a dead one keeps at most
// `queuesize` events, dropping the oldest with a warning that counts them.
import test from 'ava';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import type { NotificationEndpoint } from '../../common/config/notifications.js';
import { EndpointQueue } from '../../storage/notifications/endpoint-queue.js';
import { buildEvent, newSource, type Event } from '../../storage/notifications/events.js';
import { startHttpSink } from '../helpers/http-sink.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

function endpoint(url: string, overrides: Partial<NotificationEndpoint> = {}): NotificationEndpoint {
  return { name: 'test', url, headers: {}, timeoutMs: 2000, threshold: 2, backoffMs: 200, ignoredMediaTypes: [], ignoredActions: [], disabled: false, queuesize: 100, ...overrides };
}

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const source = newSource('test:5000');
function event(n: number): Event {
  return buildEvent('push', { repository: 'a/b', digest: `sha256:${String(n).padStart(64, '0')}` }, { id: `r${n}`, addr: '', host: '', method: 'PUT', useragent: '' }, undefined, source);
}

function digestsIn(posts: Array<{ body: unknown }>): string[] {
  return posts.flatMap((p) => (p.body as { events: Event[] }).events.map((e) => e.target.digest!));
}

test('a failing endpoint gets every event again until it answers 2xx, in order', async (t) => {
  const sink = await startHttpSink();
  t.teardown(() => sink.close());
  let attempts = 0;
  sink.answer = () => (++attempts <= 4 ? 500 : 200);
  const { logger, lines } = capturingLogger();
  const queue = new EndpointQueue(endpoint(`${sink.url}/hook`), logger);
  for (let n = 0; n < 5; n++) queue.push(event(n));
  await waitFor(() => queue.counters.sent === 5, 20_000);
  t.deepEqual(digestsIn(sink.received), [0, 1, 2, 3, 4].map((n) => event(n).target.digest!));
  t.is(queue.counters.failures, 4);
  t.is(queue.counters.pending, 0);
  t.true(lines.some((l) => l.msg === 'notification endpoint failing: retrying with backoff'), 'the threshold is logged');
  queue.stop();
});

test('a dead endpoint holds at most queuesize events: the oldest are dropped and counted', async (t) => {
  const port = await freePort(); // nothing listens there
  const { logger, lines } = capturingLogger();
  const queue = new EndpointQueue(endpoint(`http://127.0.0.1:${port}/hook`, { queuesize: 10, backoffMs: 100 }), logger);
  for (let n = 0; n < 1000; n++) queue.push(event(n));
  t.is(queue.counters.pending, 10, 'memory stays bounded');
  t.is(queue.counters.dropped, 990);
  const warning = lines.find((l) => l.msg === 'notification queue full: the oldest events were dropped');
  t.truthy(warning);
  t.is(warning?.endpoint, 'test');
  t.is(lines.filter((l) => l.msg === warning?.msg).length, 1, 'one warning per 10 s, not one per event');
  queue.stop();
});

test('when a dead endpoint comes back it gets the newest events', async (t) => {
  const sink = await startHttpSink();
  t.teardown(() => sink.close());
  let up = false;
  sink.answer = () => (up ? 200 : 503);
  const { logger } = capturingLogger();
  const queue = new EndpointQueue(endpoint(`${sink.url}/hook`, { queuesize: 5, backoffMs: 50 }), logger);
  queue.push(event(0));
  await waitFor(() => queue.counters.failures >= 1, 20_000); // event 0 is the batch being retried
  for (let n = 1; n < 20; n++) queue.push(event(n));
  up = true;
  await waitFor(() => queue.counters.pending === 0, 20_000);
  const delivered = digestsIn(sink.received);
  // The batch in flight when the queue filled (the first event) is kept and retried.
  t.deepEqual(delivered, [0, 16, 17, 18, 19].map((n) => event(n).target.digest!));
  t.is(queue.counters.dropped, 15);
  queue.stop();
});

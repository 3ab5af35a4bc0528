import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { CredentialCache } from '../../../gateway/auth/credential-cache.js';
import { SingleFlight } from '../../../gateway/auth/single-flight.js';
import { manualClock } from '../../helpers/clock.js';

test('keys depend on user and password, never contain them, and cannot be confused', (t) => {
  const cache = new CredentialCache();
  const key = cache.keyOf('alice', 'secret');
  t.is(cache.keyOf('alice', 'secret'), key);
  t.false(key.includes('secret'));
  t.not(cache.keyOf('alice', 'Secret'), key);
  t.not(cache.keyOf('a\0b', 'c'), cache.keyOf('a', 'b\0c'));
  t.not(new CredentialCache().keyOf('alice', 'secret'), key, 'a random key per cache');
});

test('remembers verified credentials until they expire or the cache is cleared', (t) => {
  const clock = manualClock();
  const cache = new CredentialCache({ ttlMs: 200, now: clock.now });
  const key = cache.keyOf('alice', 'secret');
  t.false(cache.isVerified(key));
  cache.rememberVerified(key);
  t.true(cache.isVerified(key));
  t.false(cache.isVerified(cache.keyOf('alice', 'other')));
  clock.advance(250);
  t.false(cache.isVerified(key), 'expired');
  cache.rememberVerified(key);
  cache.clear();
  t.false(cache.isVerified(key), 'cleared');
});

test('holds at most maxEntries credentials', (t) => {
  const cache = new CredentialCache({ maxEntries: 10 });
  for (let i = 0; i < 25; i++) cache.rememberVerified(cache.keyOf(`user${i}`, 'pw'));
  t.is(cache.size, 10);
  t.false(cache.isVerified(cache.keyOf('user0', 'pw')));
  t.true(cache.isVerified(cache.keyOf('user24', 'pw')));
});

test('single flight: concurrent calls with one key share one run; later calls run again', async (t) => {
  const flights = new SingleFlight<number>();
  let runs = 0;
  const job = async (): Promise<number> => {
    runs++;
    await sleep(20);
    return runs;
  };
  const results = await Promise.all(Array.from({ length: 32 }, () => flights.run('k', job)));
  t.is(runs, 1);
  t.deepEqual(new Set(results), new Set([1]));
  t.is(flights.size, 0);
  await flights.run('k', job);
  await Promise.all([flights.run('a', job), flights.run('b', job)]);
  t.is(runs, 4);
  await t.throwsAsync(flights.run('boom', async () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.is(flights.size, 0);
});

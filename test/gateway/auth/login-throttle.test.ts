import test from 'ava';
import { throttleBucketOf } from '../../../gateway/auth/address-bucket.js';
import { LoginThrottle, MAX_GUESSED_USERS, type LoginAdmission } from '../../../gateway/auth/login-throttle.js';
import { manualClock } from '../../helpers/clock.js';

let attempts = 0;
/** A distinct attempt key, as different passwords would have. */
function freshKey(): string {
  return `attempt-${++attempts}`;
}

function fail(throttle: LoginThrottle, address: string, user: string): LoginAdmission {
  const admission = throttle.admit(address, user, freshKey());
  if (!admission.throttled) admission.settle('failure');
  return admission;
}

test('an address is throttled after N failures, other addresses are not', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3, maxFailuresPerUser: 100, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) t.false(fail(throttle, '192.0.2.1', `user${i}`).throttled);
  const refused = throttle.admit('192.0.2.1', 'anyone', freshKey());
  t.like(refused, { throttled: true, scope: 'address' });
  if (refused.throttled) t.true(refused.retryAfterSeconds > 0 && refused.retryAfterSeconds <= 60);
  t.false(throttle.admit('192.0.2.2', 'anyone', freshKey()).throttled);
});

test('the third failure is the one reported as throttling the address', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3 });
  const outcomes = [0, 1, 2].map(() => {
    const admission = throttle.admit('192.0.2.9', 'u', freshKey());
    return admission.throttled ? 'throttled' : admission.settle('failure');
  });
  t.deepEqual(outcomes, [false, false, true]);
});

test('the window slides: old failures stop counting', (t) => {
  const clock = manualClock();
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 2, windowMs: 300, now: clock.now });
  fail(throttle, '192.0.2.3', 'u');
  fail(throttle, '192.0.2.3', 'u');
  t.true(throttle.admit('192.0.2.3', 'u', freshKey()).throttled);
  clock.advance(350);
  t.false(throttle.admit('192.0.2.3', 'u', freshKey()).throttled);
});

test('a success from an address clears its failures', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3 });
  fail(throttle, '192.0.2.4', 'u');
  fail(throttle, '192.0.2.4', 'u');
  const success = throttle.admit('192.0.2.4', 'u', freshKey());
  if (success.throttled) return t.fail('throttled too early');
  success.settle('success');
  fail(throttle, '192.0.2.4', 'u');
  fail(throttle, '192.0.2.4', 'u');
  t.false(throttle.admit('192.0.2.4', 'u', freshKey()).throttled);
});

test('guessing on a user from many addresses throttles the guessers, not a clean address', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 10, maxFailuresPerUser: 3 });
  for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) fail(throttle, address, 'alice');
  const guesser = throttle.admit('198.51.100.1', 'alice', freshKey());
  t.like(guesser, { throttled: true, scope: 'user' });
  if (guesser.throttled) t.true(guesser.retryAfterSeconds > 0);
  t.false(throttle.admit('198.51.100.1', 'bob', freshKey()).throttled, 'other users are not affected');
  t.false(throttle.admit('203.0.113.7', 'alice', freshKey()).throttled, 'the real alice, from her own address');
});

test('attempts still being verified count against their address; identical ones count once', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3 });
  const inFlight = [freshKey(), freshKey(), freshKey()].map((key) => throttle.admit('192.0.2.5', 'u', key));
  t.true(inFlight.every((admission) => !admission.throttled));
  t.like(throttle.admit('192.0.2.5', 'u', freshKey()), { throttled: true, scope: 'address' });

  const sameKey = freshKey();
  const parallel = new LoginThrottle({ maxFailuresPerAddress: 3 });
  const push = Array.from({ length: 32 }, () => parallel.admit('192.0.2.6', 'u', sameKey));
  t.true(push.every((admission) => !admission.throttled), '32 identical requests of one push are one attempt');
  for (const admission of push) if (!admission.throttled) admission.settle('success');
  t.false(parallel.admit('192.0.2.6', 'u', freshKey()).throttled);
});

test('abandoned attempts release their slot without counting as failures', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 1 });
  const first = throttle.admit('192.0.2.8', 'u', freshKey());
  if (first.throttled) return t.fail('throttled too early');
  t.true(throttle.admit('192.0.2.8', 'u', freshKey()).throttled);
  first.settle('abandoned');
  t.false(throttle.admit('192.0.2.8', 'u', freshKey()).throttled);
});

test('throttle memory is bounded', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 1, maxTrackedKeys: 100 });
  fail(throttle, '192.0.2.10', 'u');
  t.true(throttle.admit('192.0.2.10', 'u', freshKey()).throttled);
  for (let i = 0; i < 200; i++) throttle.admit(`10.0.${i >> 8}.${i & 255}`, 'u', freshKey());
  t.false(throttle.admit('192.0.2.10', 'u', freshKey()).throttled, 'the oldest address was forgotten');
});

test('IPv6 clients are counted per /64, IPv4-mapped ones as IPv4', (t) => {
  t.is(throttleBucketOf('192.0.2.1'), '192.0.2.1');
  t.is(throttleBucketOf('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(throttleBucketOf('::FFFF:c000:0201'), '192.0.2.1');
  t.is(throttleBucketOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.is(throttleBucketOf('2001:db8:1:2:ffff:1:2:3'), '2001:db8:1:2::/64');
  t.is(throttleBucketOf('2001:DB8::1'), '2001:db8:0:0::/64');
  t.is(throttleBucketOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(throttleBucketOf('::1'), '0:0:0:0::/64');
  t.is(throttleBucketOf('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  t.is(throttleBucketOf('unix-socket'), 'unix-socket');

  const throttle = new LoginThrottle({ maxFailuresPerAddress: 2 });
  fail(throttle, '2001:db8:1:2::a', 'u');
  fail(throttle, '2001:db8:1:2::b', 'u');
  t.true(throttle.admit('2001:db8:1:2::c', 'u', freshKey()).throttled);
  t.false(throttle.admit('2001:db8:1:3::a', 'u', freshKey()).throttled);
});

test('a verified password passes a throttled address only for users the address is not guessing at', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3, maxFailuresPerUser: 100 });
  for (let i = 0; i < 3; i++) fail(throttle, '192.0.2.60', 'alice');
  t.true(throttle.admit('192.0.2.60', 'bob', freshKey()).throttled, 'an unverified attempt for bob is throttled…');
  t.like(throttle.admitVerified('192.0.2.60', 'carol'), { throttled: false });
  t.like(throttle.admitVerified('192.0.2.60', 'alice'), { throttled: true, scope: 'address' });
  t.like(throttle.admitVerified('192.0.2.60', 'bob'), { throttled: true }, '…and marks bob as guessed at');
  t.like(throttle.admitVerified('192.0.2.61', 'alice'), { throttled: false });
});

test('an address that guesses at too many names counts as guessing at everyone', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3, maxFailuresPerUser: 1000 });
  for (let i = 0; i < 3; i++) fail(throttle, '192.0.2.62', `user${i}`);
  for (let i = 3; i < MAX_GUESSED_USERS + 1; i++) throttle.admit('192.0.2.62', `user${i}`, freshKey());
  t.like(throttle.admitVerified('192.0.2.62', 'someone-else'), { throttled: true });
});

test('a success clears the failures of its own user only', (t) => {
  const throttle = new LoginThrottle({ maxFailuresPerAddress: 3 });
  fail(throttle, '192.0.2.63', 'mallory-target');
  fail(throttle, '192.0.2.63', 'mallory-target');
  const success = throttle.admit('192.0.2.63', 'bob', freshKey());
  if (success.throttled) return t.fail('throttled too early');
  success.settle('success');
  fail(throttle, '192.0.2.63', 'mallory-target');
  t.true(throttle.admit('192.0.2.63', 'mallory-target', freshKey()).throttled);
});

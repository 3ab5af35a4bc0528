import test from 'ava';
import { formatAge, formatDate, formatSize, shortDigest } from '../../common/ui-format.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');

test('ages count back from now in the largest whole unit', (t) => {
  t.is(formatAge('2026-12-02T11:59:30Z', NOW), 'just now');
  t.is(formatAge('2026-12-02T11:59:00Z', NOW), '1 minute ago');
  t.is(formatAge('2026-12-02T09:00:00Z', NOW), '3 hours ago');
  t.is(formatAge('2026-11-29T12:00:00Z', NOW), '3 days ago');
  t.is(formatAge('2024-12-02T12:00:00Z', NOW), '2 years ago');
});

test('the epoch of reproducible builds is "no date", not "57 years ago"', (t) => {
  t.is(formatAge('1970-01-01T00:00:00Z', NOW), '—');
  t.regex(formatDate('1970-01-01T00:00:00Z'), /not recorded/);
});

test('a date a little ahead of this clock is "just now"; far ahead, the date itself', (t) => {
  t.is(formatAge('2026-12-02T12:01:00Z', NOW), 'just now');
  t.is(formatAge('2027-01-01T00:00:00Z', NOW), '2027-01-01 00:00 UTC');
});

test('missing or unparsable dates show a dash', (t) => {
  t.is(formatAge(undefined, NOW), '—');
  t.is(formatAge('yesterday', NOW), '—');
  t.is(formatDate('yesterday'), '');
});

test('sizes in decimal units like the docker CLI, digests shortened to 12 hex digits', (t) => {
  t.is(formatSize(999), '999 B');
  t.is(formatSize(1500), '1.5 kB');
  t.is(formatSize(123_456_789), '123 MB');
  t.is(formatSize(undefined), '—');
  t.is(shortDigest(`sha256:${'0123456789abcdef'.repeat(4)}`), 'sha256:0123456789ab');
});

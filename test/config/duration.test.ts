import test from 'ava';
import { formatGoDuration, parseGoDuration } from '../../common/config/duration.js';

test('parses Go durations into milliseconds', (t) => {
  const cases: Array<[string, number]> = [
    ['168h', 168 * 3_600_000],
    ['24h', 86_400_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1.5s', 1500],
    ['500ms', 500],
    ['2h45m30s', (2 * 3600 + 45 * 60 + 30) * 1000],
    ['1000us', 1],
    ['1000µs', 1],
    ['1000000ns', 1],
    ['0', 0],
    ['-5m', -300_000],
  ];
  for (const [text, ms] of cases) t.is(parseGoDuration(text), ms, text);
});

test('refuses what time.ParseDuration refuses', (t) => {
  for (const text of ['', '168', '1 week', '1d', 'h', '1hh', '5 m', '1.2.3s', 'abc']) {
    t.is(parseGoDuration(text), undefined, text);
  }
});

test('formats milliseconds back into a compact Go duration', (t) => {
  t.is(formatGoDuration(168 * 3_600_000), '168h');
  t.is(formatGoDuration(5_400_000), '1h30m');
  t.is(formatGoDuration(90_500), '1m30s500ms');
  t.is(formatGoDuration(0), '0s');
  for (const text of ['168h', '1h30m', '45s', '2h0m1s']) {
    t.is(parseGoDuration(formatGoDuration(parseGoDuration(text) as number)), parseGoDuration(text));
  }
});

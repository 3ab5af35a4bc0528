// How the web UI shows sizes, dates and digests (in the browser; here so unit tests reach it too).

/** `1.2 MB`, decimal units like the docker CLI. */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/**
 * `3 minutes ago`, `2 days ago`; `—` when unknown. Reproducible builds (ko, Bazel, Nix,
 * `SOURCE_DATE_EPOCH=0`) record 1970-01-01, which means "no date", not "57 years ago".
 */
export function formatAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const then = Date.parse(iso);
  if (Number.isNaN(then) || then <= 0) return '—';
  const seconds = Math.round((now - then) / 1000);
  // A clock a little ahead of this one is "just now"; further ahead, the date says more.
  if (seconds < 45) return seconds < -300 ? formatDate(iso) : 'just now';
  const steps: Array<[number, string]> = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
    [86400 * 30, 'month'],
    [86400 * 365, 'year'],
  ];
  let chosen: [number, string] = steps[0]!;
  for (const step of steps) if (seconds >= step[0]) chosen = step;
  const count = Math.round(seconds / chosen[0]);
  return `${count} ${chosen[1]}${count === 1 ? '' : 's'} ago`;
}

/** `2026-12-02 01:55 UTC` for titles. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.getTime() <= 0 ? 'not recorded (1970-01-01: a reproducible build)' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `sha256:0123456789ab` */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest.slice(0, 12) : digest.slice(0, colon + 13);
}

// A real pino logger whose JSON lines are kept in memory, so tests can read what was logged.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../common/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  /** Every line written so far, as written. */
  raw(): string;
}

export function captureLogger(level: pino.Level = 'debug'): CapturedLogs {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  const logger = pino({ level, base: { service: 'gateway-test' } }, sink);
  return {
    logger,
    raw: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

// JSON-lines logging (pino) for both processes. Credentials never reach a log line: the
// Authorization header and anything that looks like a password are redacted at the source.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/types.js';

export type { Logger };

export function createLogger(service: string, level: LogLevel = 'info', fields: Record<string, string> = {}): Logger {
  return pino({
    level: process.env.REGISTRY_TEST_SILENT_LOGS === '1' ? 'silent' : level,
    base: { service, ...fields },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'password', '*.password'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

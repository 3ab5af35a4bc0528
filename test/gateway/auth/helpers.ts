// Shared by the auth tests: the real `htpasswd` command, temporary directories, captured logs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { pino, type Logger } from 'pino';

const run = promisify(execFile);

export const HTPASSWD = '/usr/bin/htpasswd';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real Apache `htpasswd` with `args`; a non-zero exit is a result, not an error. */
export async function htpasswd(...args: string[]): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(HTPASSWD, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The `user:hash` line `htpasswd -nb <flags>` prints for `user` and `password`. */
export async function htpasswdLine(flags: string[], user: string, password: string): Promise<string> {
  const result = await htpasswd('-nb', ...flags, user, password);
  if (result.code !== 0) throw new Error(`htpasswd ${flags.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** The hash part of a `user:hash` line. */
export function hashOf(line: string): string {
  return line.slice(line.indexOf(':') + 1);
}

export async function temporaryDirectory(t: ExecutionContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'auth-test-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

export interface LogRecord {
  level: number;
  msg: string;
  line?: number;
  [field: string]: unknown;
}

export interface CapturedLogs {
  logger: Logger;
  records: LogRecord[];
  /** Everything written, as one string (to check that no secret appears anywhere). */
  text(): string;
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogs(): CapturedLogs {
  const written: string[] = [];
  const records: LogRecord[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(chunk: string) {
        written.push(chunk);
        records.push(JSON.parse(chunk) as LogRecord);
      },
    },
  );
  return { logger, records, text: () => written.join('') };
}

export const silentLogger: Logger = pino({ level: 'silent' });

export const WARN = 40;
export const ERROR = 50;

export { waitFor } from '../../helpers/wait.js';

// Runs external commands (the real clients) with a hard timeout, and turns any failure into an
// error that says which command failed, how, and what it printed, with test secrets redacted.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Hard limit; the whole process group is killed when it is reached. */
  timeoutMs?: number;
  /** Bytes written to stdin (stdin is closed either way: no client may wait for a terminal). */
  input?: string | Buffer;
  /** Added to (not replacing) the test process environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr as text, for message checks. */
  output: string;
  durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const secrets = new Set<string>();

/** Registers a value that must never appear in an error message or a log written by the tests. */
export function registerSecret(secret: string): void {
  if (secret.length > 0) secrets.add(secret);
}

export function redact(text: string): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('[redacted]');
  return result;
}

/** Runs a command and resolves with what happened, whatever the exit status. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const command = [file, ...args].join(' ');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // A process group of its own, so a timeout also kills whatever the client started.
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {}); // the client may exit before reading its input
    child.stdin.end(options.input ?? '');
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${redact(command)}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout);
      const err = Buffer.concat(stderr);
      resolve({
        command,
        code,
        signal,
        timedOut,
        stdout: out,
        stderr: err,
        output: `${out.toString('utf8')}\n${err.toString('utf8')}`,
        durationMs: Date.now() - started,
      });
    });
  });
}

/** Runs a command that must succeed (exit 0 within the timeout); resolves with its stdout as text. */
export async function runOk(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0 || result.timedOut) throw new Error(describeFailure(result));
  return result.stdout.toString('utf8');
}

/** Runs a command that must fail (non-zero exit, not a timeout); resolves with everything it printed. */
export async function runFails(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.timedOut) throw new Error(describeFailure(result));
  if (result.code === 0) throw new Error(redact(`expected a failure but it succeeded: ${result.command}\n${result.output}`));
  return result.output;
}

export function describeFailure(result: RunResult): string {
  const how = result.timedOut
    ? `timed out after ${result.durationMs} ms`
    : result.signal
      ? `was killed by ${result.signal}`
      : `exited with code ${result.code}`;
  return redact(`${result.command} ${how}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`);
}

function tail(buffer: Buffer, max = 4000): string {
  const text = buffer.toString('utf8');
  return text.length > max ? `...${text.slice(-max)}` : text;
}

/** Signals a whole process group started with `detached: true`; a group already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already exited
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

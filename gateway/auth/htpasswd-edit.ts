// Editing htpasswd file text for the CLI (`user add|remove|list`) without apache2-utils. Every line
// that is not the edited user's (comments, blank lines, other users, even broken lines) is kept
// byte for byte, and a line written into a CRLF file ends with CRLF.
import { classifyLine } from './htpasswd-file.js';
import { detectHashFormat } from './password-hash.js';

const MAX_USER_NAME_LENGTH = 255;

/** Throws when `user` cannot be written as an htpasswd user name that reads back unchanged. */
export function assertValidUserName(user: string): void {
  if (user === '') throw new Error('user name must not be empty');
  if (user.length > MAX_USER_NAME_LENGTH) throw new Error(`user name must be at most ${MAX_USER_NAME_LENGTH} characters`);
  if (user.includes(':')) throw new Error("user name must not contain ':'");
  if (/[\r\n\0]/.test(user)) throw new Error('user name must not contain line breaks or NUL');
  if (user.trim() !== user) throw new Error('user name must not start or end with white space');
  if (user.startsWith('#')) throw new Error("user name must not start with '#'");
}

function assertValidHash(hash: string): void {
  if (hash === '' || /[\r\n]/.test(hash) || hash.trim() !== hash || detectHashFormat(hash) === undefined) {
    throw new Error('not a valid htpasswd password hash');
  }
}

interface SplitText {
  /** Lines without their `\n`; a CRLF line keeps its `\r`, which the parser trims. */
  lines: string[];
  /** What ends a line this module writes: `\r` when the file uses CRLF. */
  cr: '' | '\r';
}

function split(text: string): SplitText {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return { lines, cr: text.includes('\r\n') ? '\r' : '' };
}

function join(lines: string[]): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function isLineOf(line: string, user: string): boolean {
  const parsed = classifyLine(line);
  return parsed.kind === 'entry' && parsed.user === user;
}

/** User names in file order (each once), including users whose hash is unusable. */
export function listUsers(fileText: string): string[] {
  const users = new Set<string>();
  for (const line of split(fileText).lines) {
    const parsed = classifyLine(line);
    if (parsed.kind === 'entry') users.add(parsed.user);
  }
  return [...users];
}

/**
 * Sets `user`'s hash: replaces the user's first line in place and drops any duplicate lines for
 * the same user, or appends a line when the user is new.
 */
export function setUser(fileText: string, user: string, hash: string): string {
  assertValidUserName(user);
  assertValidHash(hash);
  const text = split(fileText);
  const entry = `${user}:${hash}${text.cr}`;
  const first = text.lines.findIndex((line) => isLineOf(line, user));
  if (first < 0) return join([...text.lines, entry]);
  const lines = text.lines.filter((line, index) => index <= first || !isLineOf(line, user));
  lines[first] = entry;
  return join(lines);
}

/** Removes every line of `user`; returns the text unchanged when the user is not in it. */
export function removeUser(fileText: string, user: string): string {
  const text = split(fileText);
  const lines = text.lines.filter((line) => !isLineOf(line, user));
  return lines.length === text.lines.length ? fileText : join(lines);
}

// Reading an htpasswd file: one `user:hash` per line, `#` comments and blank lines allowed, as
// Apache and registry:2 read it (the line is trimmed, the user ends at the first colon, the hash is
// the rest of the line). Problems are reported with line numbers and never with a line's content,
// which could be a password someone pasted by mistake.
import { describeHashFormat, detectHashFormat, isInsecureFormat, type HashFormat } from './password-hash.js';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  format: HashFormat;
  /** 1-based line number. */
  line: number;
}

export interface HtpasswdProblem {
  line: number;
  /** `error`: the line is ignored; `warning`: the line is used but should be fixed. */
  severity: 'warning' | 'error';
  message: string;
}

export interface ParsedHtpasswd {
  /** Users in file order; when a user appears twice, the first line wins (as in Apache). */
  entries: Map<string, HtpasswdEntry>;
  problems: HtpasswdProblem[];
}

export type HtpasswdLine =
  | { kind: 'blank' }
  | { kind: 'comment' }
  | { kind: 'entry'; user: string; hash: string }
  | { kind: 'broken'; reason: string };

/** Splits file text into lines (LF or CRLF); a final newline does not start another line. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function classifyLine(rawLine: string): HtpasswdLine {
  const line = rawLine.trim();
  if (line === '') return { kind: 'blank' };
  if (line.startsWith('#')) return { kind: 'comment' };
  const colon = line.indexOf(':');
  if (colon < 0) return { kind: 'broken', reason: "no ':' between user and password hash" };
  if (colon === 0) return { kind: 'broken', reason: 'empty user name' };
  const hash = line.slice(colon + 1);
  if (hash === '') return { kind: 'broken', reason: 'empty password hash' };
  return { kind: 'entry', user: line.slice(0, colon), hash };
}

export function parseHtpasswd(text: string, options: { refuseInsecure?: boolean } = {}): ParsedHtpasswd {
  const entries = new Map<string, HtpasswdEntry>();
  const problems: HtpasswdProblem[] = [];
  // A user seen on an earlier line, even one that line was refused for, keeps its first definition.
  const firstLineOf = new Map<string, number>();

  splitLines(text).forEach((rawLine, index) => {
    const line = index + 1;
    const parsed = classifyLine(rawLine);
    if (parsed.kind === 'blank' || parsed.kind === 'comment') return;
    if (parsed.kind === 'broken') {
      problems.push({ line, severity: 'error', message: `line ${line}: ${parsed.reason}; line ignored` });
      return;
    }
    const { user, hash } = parsed;
    const earlier = firstLineOf.get(user);
    if (earlier !== undefined) {
      problems.push({
        line,
        severity: 'warning',
        message: `line ${line}: user "${user}" is already defined on line ${earlier}; line ignored`,
      });
      return;
    }
    firstLineOf.set(user, line);
    const format = detectHashFormat(hash);
    if (format === undefined) {
      problems.push({
        line,
        severity: 'error',
        message: `line ${line}: user "${user}" has a malformed or unsupported password hash; line ignored`,
      });
      return;
    }
    if (isInsecureFormat(format)) {
      const what = `line ${line}: user "${user}" has an insecure ${describeHashFormat(format)} password`;
      if (options.refuseInsecure) {
        problems.push({ line, severity: 'error', message: `${what}; refused because refuseinsecure is set` });
        return;
      }
      problems.push({ line, severity: 'warning', message: `${what}; re-create it with bcrypt (htpasswd -B)` });
    }
    entries.set(user, { user, hash, format, line });
  });

  return { entries, problems };
}

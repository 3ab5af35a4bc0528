// Parsers for single configuration values. Each takes a raw YAML value and returns the typed
// value or throws a ValueProblem saying what is accepted; the caller adds which setting it was.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseGoDuration } from './duration.js';
import { compileRepositoryGlob } from '../../gateway/access/repository-glob.js';
import { describeRaw, type RawNode } from './raw.js';
import type { RetentionRule } from './types.js';

export class ValueProblem extends Error {}

export interface ParseContext {
  /** Relative paths are resolved against this directory, as registry:2 does (its cwd). */
  cwd: string;
  warn(message: string): void;
}

export type ValueParser<T = unknown> = (node: RawNode, ctx: ParseContext) => T;

function scalarText(node: RawNode, expected: string): string {
  if (node.kind !== 'scalar') throw new ValueProblem(`expected ${expected}, got ${describeRaw(node)}`);
  return node.text;
}

export const string: ValueParser<string> = (node) => scalarText(node, 'a string');

export const path: ValueParser<string> = (node, ctx) => resolve(ctx.cwd, scalarText(node, 'a file or directory path'));

// registry:2 reads YAML 1.1 (Go yaml.v2), where yes/no/on/off are booleans too.
const TRUE_WORDS = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'y', 'Y', 'on', 'On', 'ON']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'n', 'N', 'off', 'Off', 'OFF']);

/** A whole number from 1 up (limits such as http.maxconnections). */
export const positiveInteger: ValueParser<number> = (node) => {
  const text = scalarText(node, 'a whole number').trim();
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new ValueProblem(`expected a whole number from 1 up, got ${JSON.stringify(text)}`);
  return Number(text);
};

export const boolean: ValueParser<boolean> = (node) => {
  if (node.kind === 'scalar') {
    if (typeof node.value === 'boolean') return node.value;
    if (TRUE_WORDS.has(node.text.trim())) return true;
    if (FALSE_WORDS.has(node.text.trim())) return false;
  }
  throw new ValueProblem(`expected true or false, got ${describeRaw(node)}`);
};

export function oneOf<T extends string>(values: readonly T[], caseInsensitive = false): ValueParser<T> {
  return (node) => {
    const text = scalarText(node, `one of ${values.join(', ')}`).trim();
    const found = values.find((v) => (caseInsensitive ? v.toLowerCase() === text.toLowerCase() : v === text));
    if (found === undefined) throw new ValueProblem(`expected one of ${values.join(', ')}, got ${describeRaw(node)}`);
    return found;
  };
}

/** A positive Go duration, returned in milliseconds. */
export const duration: ValueParser<number> = (node) => {
  const expected = 'a duration such as 168h, 30m or 90s';
  if (node.kind === 'scalar' && typeof node.value === 'number') {
    throw new ValueProblem(`expected ${expected}, got ${describeRaw(node)} (a number needs a unit)`);
  }
  const ms = parseGoDuration(scalarText(node, expected));
  if (ms === undefined) throw new ValueProblem(`expected ${expected}, got ${describeRaw(node)}`);
  if (ms <= 0) throw new ValueProblem(`expected a duration greater than zero, got ${describeRaw(node)}`);
  return Math.max(1, Math.round(ms));
};

/** An absolute http(s) URL such as `https://registry.example.com`. */
export const httpUrl: ValueParser<string> = (node) => {
  const text = scalarText(node, 'an http:// or https:// URL').trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueProblem(`expected an http:// or https:// URL, got ${describeRaw(node)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new ValueProblem(`expected an http:// or https:// URL, got ${describeRaw(node)}`);
  }
  return text.replace(/\/+$/, '');
};

/** A list of strings; a single string is a list of one. */
export const stringList: ValueParser<string[]> = (node) => {
  if (node.kind === 'scalar') return [node.text];
  if (node.kind === 'list') return node.items.map((item) => scalarText(item, 'a list of strings'));
  throw new ValueProblem(`expected a list of strings, got ${describeRaw(node)}`);
};

// Names proxy-addr understands besides addresses.
const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** The entries of a YAML list, or of a string separated by commas or spaces. */
function listEntries(node: RawNode, expected: string): string[] {
  const entries =
    node.kind === 'scalar'
      ? node.text.split(/[\s,]+/).filter((e) => e !== '')
      : node.kind === 'list'
        ? node.items.map((item) => scalarText(item, expected).trim())
        : undefined;
  if (entries === undefined) throw new ValueProblem(`expected ${expected}, got ${describeRaw(node)}`);
  return entries;
}

/** IP addresses and CIDR ranges, as a YAML list or a comma-separated string. */
export const addressList: ValueParser<string[]> = (node) => {
  const expected = 'IP addresses or CIDR ranges (e.g. [10.0.0.0/8, 192.168.1.10])';
  const entries = listEntries(node, expected);
  for (const entry of entries) {
    if (PROXY_KEYWORDS.has(entry)) continue;
    const [ip, prefix, extra] = entry.split('/');
    const family = isIP(ip);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ValueProblem(`expected ${expected}, got ${JSON.stringify(entry)}`);
    }
  }
  return entries;
};

/** A scalar kept as text (log fields: `service: registry`, `replica: 2`). */
export const scalarAsText: ValueParser<string> = (node) => scalarText(node, 'a single value');

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The values of one response header: a list of strings (or one string). */
export const headerValues: ValueParser<string[]> = (node, ctx) => {
  const values = stringList(node, ctx);
  for (const value of values) {
    if (/[\r\n\0]/.test(value)) throw new ValueProblem('header values cannot contain line breaks');
  }
  return values;
};

export function checkHeaderName(name: string): void {
  if (!HEADER_NAME.test(name)) throw new ValueProblem(`"${name}" is not a valid HTTP header name`);
}

/**
 * Browser origins (`https://ui.example.com`, `http://127.0.0.1:8000`), as a YAML list or a
 * comma-separated string, for CORS. `*` is refused: the registry answers with credentials.
 */
export const originList: ValueParser<string[]> = (node) => {
  const expected = 'origins such as https://ui.example.com (scheme, host and port, no path)';
  return listEntries(node, expected).map((entry) => {
    if (entry === '*') {
      throw new ValueProblem('"*" would let every website use the credentials a browser holds for the registry; list the origins of the UIs instead');
    }
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ValueProblem(`expected ${expected}, got ${JSON.stringify(entry)}`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      throw new ValueProblem(`expected ${expected}, got ${JSON.stringify(entry)}`);
    }
    return url.origin;
  });
};

/** A Go duration of zero or more, in milliseconds (`0` turns a safety margin off). */
export const durationOrZero: ValueParser<number> = (node, ctx) => {
  if (node.kind === 'scalar' && (node.text.trim() === '0' || (typeof node.value !== 'number' && parseGoDuration(node.text) === 0))) return 0;
  return duration(node, ctx);
};

const RETENTION_KEYS = new Set(['repositories', 'keeptags', 'keeptagsmatching', 'deleteuntaggedafter']);

/**
 * `storage.maintenance.retention`: a list of rules, each
 * `{repositories: glob, keeptags: N, keeptagsmatching: regex, deleteuntaggedafter: duration}`.
 */
export const retentionRules: ValueParser<RetentionRule[]> = (node, ctx) => {
  if (node.kind !== 'list') throw new ValueProblem(`expected a list of retention rules, got ${describeRaw(node)}`);
  return node.items.map((item, i) => {
    const where = `rule ${i + 1}`;
    if (item.kind !== 'map') throw new ValueProblem(`${where}: expected a map with repositories, keeptags, keeptagsmatching, deleteuntaggedafter`);
    for (const key of item.entries.keys()) {
      if (!RETENTION_KEYS.has(key)) throw new ValueProblem(`${where}: unknown key ${JSON.stringify(key)} (known: ${[...RETENTION_KEYS].join(', ')})`);
    }
    const get = (key: string) => item.entries.get(key);
    const repositories = get('repositories');
    if (repositories === undefined) throw new ValueProblem(`${where}: repositories (a glob such as team/** or *) is required`);
    const rule: RetentionRule = { repositories: string(repositories, ctx) };
    try {
      compileRepositoryGlob(rule.repositories);
    } catch (err) {
      throw new ValueProblem(`${where}: ${(err as Error).message}`);
    }
    const keeptags = get('keeptags');
    if (keeptags !== undefined) {
      const text = scalarText(keeptags, 'a whole number').trim();
      if (!/^\d{1,9}$/.test(text)) throw new ValueProblem(`${where}: keeptags: expected a whole number, got ${JSON.stringify(text)}`);
      rule.keeptags = Number(text);
    }
    const matching = get('keeptagsmatching');
    if (matching !== undefined) {
      rule.keeptagsmatching = string(matching, ctx);
      try {
        new RegExp(rule.keeptagsmatching);
      } catch (err) {
        throw new ValueProblem(`${where}: keeptagsmatching: ${(err as Error).message}`);
      }
    }
    const after = get('deleteuntaggedafter');
    if (after !== undefined) {
      try {
        rule.deleteuntaggedafterMs = durationOrZero(after, ctx);
      } catch (err) {
        throw new ValueProblem(`${where}: deleteuntaggedafter: ${(err as Error).message}`);
      }
    }
    if (rule.keeptags === undefined && rule.keeptagsmatching === undefined && rule.deleteuntaggedafterMs === undefined) {
      throw new ValueProblem(`${where}: says nothing to do (give keeptags, keeptagsmatching or deleteuntaggedafter)`);
    }
    return rule;
  });
};

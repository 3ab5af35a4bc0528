// Checks the raw tree (config.yml + environment) against the schema and flattens it into
// typed settings by key path. Collects every problem instead of stopping at the first.
import { envNameOf } from './env.js';
import { describeRaw, emptyMap, type Origin, type RawMap, type RawNode } from './raw.js';
import type { SchemaNode } from './schema.js';
import { ValueProblem } from './values.js';

export interface Setting {
  value: unknown;
  origin: Origin;
}

/** Typed values by dotted key path (`storage.delete.enabled`); sections are present as `true`. */
export class Settings {
  private readonly byPath = new Map<string, Setting>();

  set(path: readonly string[], setting: Setting): void {
    this.byPath.set(path.join('.'), setting);
  }
  has(path: string): boolean {
    return this.byPath.has(path);
  }
  /** The parsed value; its type is the one the schema's parser for this path returns. */
  get<T>(path: string): T | undefined {
    return this.byPath.get(path)?.value as T | undefined;
  }
  origin(path: string): Origin {
    return this.byPath.get(path)?.origin ?? { kind: 'default' };
  }
}

/** How a problem names a setting: the variable and the YAML path, and where it was written. */
export function settingName(path: readonly string[] | string, origin: Origin): string {
  const keys = typeof path === 'string' ? path.split('.') : path;
  const yamlPath = keys.join('.');
  if (origin.kind === 'env') return `${origin.name} (${yamlPath})`;
  if (origin.kind === 'file') return `${yamlPath} (${envNameOf(keys)}; ${origin.file} line ${origin.line})`;
  return `${yamlPath} (${envNameOf(keys)})`;
}

export interface Report {
  problems: string[];
  warnings: string[];
}

export function validateTree(schema: SchemaNode, root: RawNode, cwd: string): { settings: Settings } & Report {
  const settings = new Settings();
  const report: Report = { problems: [], warnings: [] };
  walk(schema, root, [], settings, report, cwd);
  return { settings, ...report };
}

function walk(node: SchemaNode, raw: RawNode, path: string[], out: Settings, report: Report, cwd: string): void {
  const problem = (message: string, at: readonly string[] = path, origin: Origin = raw.origin): void => {
    report.problems.push(`${settingName(at, origin)}: ${message}`);
  };
  const isUnset = raw.kind === 'scalar' && (raw.value === null || raw.value === '');

  switch (node.kind) {
    case 'ignored':
      if (node.warning && !isUnset) report.warnings.push(`${settingName(path, raw.origin)}: ${node.warning}`);
      return;

    case 'rejected':
      if (!isUnset) problem(node.message);
      return;

    case 'value': {
      if (isUnset) return;
      const ctx = { cwd, warn: (message: string) => report.warnings.push(`${settingName(path, raw.origin)}: ${message}`) };
      try {
        out.set(path, { value: node.parse(raw, ctx), origin: raw.origin });
      } catch (error) {
        if (!(error instanceof ValueProblem)) throw error;
        problem(error.message);
      }
      return;
    }

    case 'map': {
      if (isUnset) return;
      if (raw.kind !== 'map') return problem(`expected a mapping (name: value), got ${describeRaw(raw)}`);
      const record: Record<string, unknown> = {};
      for (const [key, child] of raw.entries) {
        try {
          node.checkKey?.(key);
          if (child.kind === 'scalar' && child.value === null) continue;
          record[key] = node.parse(child, { cwd, warn: (m) => report.warnings.push(`${settingName([...path, key], child.origin)}: ${m}`) });
        } catch (error) {
          if (!(error instanceof ValueProblem)) throw error;
          problem(error.message, [...path, key], child.origin);
        }
      }
      out.set(path, { value: record, origin: raw.origin });
      return;
    }

    case 'section': {
      let map: RawMap;
      if (isUnset) {
        map = emptyMap(raw.origin);
      } else if (raw.kind === 'scalar' && node.scalarSelectsKey && typeof raw.value === 'string') {
        map = emptyMap(raw.origin);
        map.entries.set(raw.value, emptyMap(raw.origin));
      } else if (raw.kind !== 'map') {
        return problem(`expected a mapping of settings, got ${describeRaw(raw)}`);
      } else {
        map = raw;
      }
      if (path.length > 0) out.set(path, { value: true, origin: map.origin });
      for (const [key, child] of map.entries) {
        const childPath = [...path, key];
        if (!Object.hasOwn(node.children, key)) {
          if (node.unknownKey) problem(node.unknownKey(key), childPath, child.origin);
          else report.problems.push(unknownKeyMessage(node.children, path, key, child.origin));
          continue;
        }
        walk(node.children[key], child, childPath, out, report, cwd);
      }
      return;
    }
  }
}

function unknownKeyMessage(children: Record<string, SchemaNode>, path: string[], key: string, origin: Origin): string {
  const full = [...path, key].join('.');
  const where =
    origin.kind === 'file' ? `${origin.file} line ${origin.line}: ` : origin.kind === 'env' ? `${origin.name}: ` : '';
  const level = path.length === 0 ? 'at the top level' : `under ${path.join('.')}`;
  const accepted = Object.keys(children);
  const sameButCase = accepted.find((k) => k.toLowerCase() === key.toLowerCase());
  const hint = sameButCase ? ` (keys are lower case: did you mean "${sameButCase}"?)` : '';
  return `${where}unknown key "${full}"${hint}; accepted keys ${level}: ${accepted.join(', ')}`;
}

// The configuration before validation: a tree of YAML values that remembers where each value
// came from (a line of config.yml or an environment variable), so errors can say so.
import { Alias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export type Origin = { kind: 'file'; file: string; line: number } | { kind: 'env'; name: string } | { kind: 'default' };

export type RawNode =
  /** `text` is the value as written (`0123`, `yes`), `value` what YAML made of it. */
  | { kind: 'scalar'; value: string | number | boolean | null; text: string; origin: Origin }
  | { kind: 'map'; entries: Map<string, RawNode>; origin: Origin }
  | { kind: 'list'; items: RawNode[]; origin: Origin };

export type RawMap = Extract<RawNode, { kind: 'map' }>;

export function emptyMap(origin: Origin): RawMap {
  return { kind: 'map', entries: new Map(), origin };
}

/** Parses config.yml; throws an Error with the YAML problems (with line numbers). */
export function parseYamlFile(text: string, file: string): RawNode | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new Error(`${file}: not valid YAML:\n${doc.errors.map((e) => `  ${e.message.split('\n')[0]}`).join('\n')}`);
  }
  if (doc.contents === null) return undefined;
  return fromYamlNode(doc, doc.contents, (offset) => ({ kind: 'file', file, line: lineCounter.linePos(offset).line }));
}

/** Parses one environment value as YAML (`true`, `[a, b]`, `{k: v}`); plain text stays text. */
export function parseEnvValue(name: string, value: string): RawNode {
  const origin: Origin = { kind: 'env', name };
  const doc = parseDocument(value, { uniqueKeys: true });
  if (doc.errors.length > 0 || doc.contents === null) {
    // Not YAML (or empty): take the text as it is, as a string. Empty means "unset".
    return { kind: 'scalar', value: value === '' ? null : value, text: value, origin };
  }
  return fromYamlNode(doc, doc.contents, () => origin);
}

function fromYamlNode(doc: Document, node: Node | Alias, originAt: (offset: number) => Origin): RawNode {
  const resolved = node instanceof Alias ? node.resolve(doc) : node;
  const origin = originAt(node.range?.[0] ?? 0);
  if (resolved === undefined) return { kind: 'scalar', value: null, text: '', origin };
  if (isMap(resolved)) {
    const entries = new Map<string, RawNode>();
    for (const pair of resolved.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value = pair.value as Node | Alias | null;
      const keyOrigin = originAt((pair.key as Node | null)?.range?.[0] ?? 0);
      const child: RawNode = value === null ? { kind: 'scalar', value: null, text: '', origin: keyOrigin } : fromYamlNode(doc, value, originAt);
      // A nested section is best located by its key's line.
      if (child.kind !== 'scalar') child.origin = keyOrigin;
      entries.set(key, child);
    }
    return { kind: 'map', entries, origin };
  }
  if (isSeq(resolved)) {
    return { kind: 'list', items: resolved.items.map((item) => fromYamlNode(doc, item as Node, originAt)), origin };
  }
  if (isScalar(resolved)) {
    const v = resolved.value;
    const value = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : v === null || v === undefined ? null : String(v);
    const text = typeof v === 'string' ? v : (resolved.source ?? String(v));
    return { kind: 'scalar', value, text, origin };
  }
  return { kind: 'scalar', value: String(resolved), text: String(resolved), origin };
}

/** Short description of a value for error messages: `"yes please"`, `a list`, `nothing`. */
export function describeRaw(node: RawNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'list') return 'a list';
  if (node.value === null) return 'nothing';
  return JSON.stringify(node.text);
}

// registry:2's environment rule: REGISTRY_ + the upper-cased key path joined with `_`
// (REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY), the value read as YAML. Names are resolved by
// walking the schema, so they match case-insensitively and keys may not need separators.
import { emptyMap, parseEnvValue, type RawMap, type RawNode } from './raw.js';
import type { SchemaNode } from './schema.js';

export const ENV_PREFIX = 'REGISTRY_';
export const CONFIG_PATH_VARIABLE = 'REGISTRY_CONFIGURATION_PATH';

/** REGISTRY_* variables that are not settings. */
const NOT_SETTINGS = new Set([
  CONFIG_PATH_VARIABLE,
  'REGISTRY_TEST_SILENT_LOGS', // common/logger.ts: quiet logs in tests
  'REGISTRY_AUTH_FILE', // podman/buildah/skopeo credentials file, often exported in the same shell
]);

/**
 * Kubernetes puts service links into every pod: a service `registry` (or `registry-x`) yields
 * REGISTRY_PORT=tcp://..., REGISTRY_SERVICE_HOST, REGISTRY_PORT_5000_TCP_ADDR, ...
 */
const KUBERNETES_SERVICE_LINK =
  /^REGISTRY(?:_[A-Z0-9_]+?)?_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT(?:_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)$/;

/** The variable that sets a key path: ['storage','delete','enabled'] -> REGISTRY_STORAGE_DELETE_ENABLED. */
export function envNameOf(path: readonly string[]): string {
  return ENV_PREFIX + path.map((key) => key.toUpperCase()).join('_');
}

type Resolution = { ok: true; path: string[]; unknownKey?: boolean } | { ok: false; understood: string[]; accepted: string[] };

/** Finds the key path a variable name (without the prefix) stands for. */
export function resolveEnvName(schema: SchemaNode, name: string): Resolution {
  const segments = name.split('_');
  const path: string[] = [];
  let node = schema;
  let i = 0;
  while (i < segments.length) {
    const rest = segments.slice(i);
    if (node.kind === 'map' || node.kind === 'ignored' || node.kind === 'rejected') {
      // Free-form keys: a map key is the rest of the name (header names have no `_`).
      const tail = node.kind === 'map' ? [rest.join('_').toLowerCase()] : rest.map((s) => s.toLowerCase());
      if (tail.some((key) => key === '')) return { ok: false, understood: path, accepted: [] };
      return { ok: true, path: [...path, ...tail] };
    }
    if (node.kind === 'value') return { ok: false, understood: path, accepted: [] };
    let matched: string | undefined;
    let used = 0;
    // Longest match first, so a key spelled with `_` (none today) would still be found.
    for (let n = rest.length; n >= 1 && matched === undefined; n--) {
      const candidate = rest.slice(0, n).join('_').toLowerCase();
      matched = Object.keys(node.children).find((key) => key.toLowerCase() === candidate);
      used = n;
    }
    if (matched === undefined) {
      if (node.unknownKey && rest.every((s) => s !== '')) {
        // storage.s3.bucket: keep it, so validation reports "driver not supported yet".
        return { ok: true, path: [...path, ...rest.map((s) => s.toLowerCase())], unknownKey: true };
      }
      return { ok: false, understood: path, accepted: Object.keys(node.children) };
    }
    path.push(matched);
    node = node.children[matched];
    i += used;
  }
  return { ok: true, path };
}

/** Applies every REGISTRY_* variable onto the tree read from config.yml; returns warnings. */
export function applyEnvironment(root: RawMap, env: NodeJS.ProcessEnv, schema: SchemaNode): string[] {
  const warnings: string[] = [];
  const setBy = new Map<string, string>();
  const selections: Array<{ name: string; path: string[]; choice: string; alternatives: readonly string[] }> = [];
  // Sorted, so REGISTRY_AUTH=htpasswd applies before REGISTRY_AUTH_HTPASSWD_PATH (as registry:2).
  const names = Object.keys(env)
    .filter((name) => name.toUpperCase().startsWith(ENV_PREFIX) && env[name] !== undefined)
    .sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
  for (const name of names) {
    const upper = name.toUpperCase();
    if (NOT_SETTINGS.has(upper)) continue;
    const resolution = resolveEnvName(schema, name.slice(ENV_PREFIX.length));
    if ((!resolution.ok || resolution.unknownKey) && KUBERNETES_SERVICE_LINK.test(upper)) continue;
    if (!resolution.ok) {
      const where = resolution.understood.length > 0 ? ` under ${resolution.understood.join('.')}` : '';
      const accepted = resolution.accepted.length > 0 ? ` (accepted${where}: ${resolution.accepted.join(', ')})` : '';
      warnings.push(`${name}: not a setting; ignored${accepted}`);
      continue;
    }
    const target = nodeAt(schema, resolution.path);
    const text = (env[name] as string).trim();
    if (target?.kind === 'section' && target.alternatives?.includes(text)) {
      // REGISTRY_STORAGE=s3: applied once every other variable is in (they may set filesystem too).
      selections.push({ name, path: resolution.path, choice: text, alternatives: target.alternatives });
      continue;
    }
    const key = resolution.path.join('.');
    const previous = setBy.get(key);
    if (previous !== undefined) warnings.push(`${name} and ${previous} both set ${key}; ${name} wins`);
    setBy.set(key, name);
    setAt(root, resolution.path, parseEnvValue(name, env[name] as string), schema);
  }
  for (const { name, path, choice, alternatives } of selections) selectAlternative(root, path, choice, alternatives, name, warnings);
  return warnings;
}

function nodeAt(schema: SchemaNode, path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema;
  for (const key of path) node = node?.kind === 'section' ? node.children[key] : undefined;
  return node;
}

/** `REGISTRY_STORAGE=s3`: keeps storage.s3 (created if absent) and drops the other drivers' settings, naming them. */
function selectAlternative(root: RawMap, path: readonly string[], choice: string, alternatives: readonly string[], name: string, warnings: string[]): void {
  let map = root;
  for (const key of path) {
    let next = map.entries.get(key);
    if (next?.kind === 'scalar' && typeof next.value === 'string' && next.value !== '') {
      const selected = next.value;
      next = emptyMap(next.origin);
      next.entries.set(selected, emptyMap(next.origin));
    }
    if (next?.kind !== 'map') {
      next = emptyMap({ kind: 'env', name });
    }
    map.entries.set(key, next);
    map = next;
  }
  for (const other of alternatives) {
    if (other === choice || !map.entries.has(other)) continue;
    const dropped = map.entries.get(other)!;
    const keys = dropped.kind === 'map' && dropped.entries.size > 0 ? [...dropped.entries.keys()].map((k) => `${[...path, other, k].join('.')}`) : [[...path, other].join('.')];
    warnings.push(`${name}=${choice} selects the ${choice} driver: ${keys.join(', ')} ignored`);
    map.entries.delete(other);
  }
  if (!map.entries.has(choice)) map.entries.set(choice, emptyMap({ kind: 'env', name }));
}

function setAt(root: RawMap, path: string[], value: RawNode, schema: SchemaNode): void {
  let map = root;
  let node: SchemaNode | undefined = schema;
  for (const [index, key] of path.entries()) {
    const last = index === path.length - 1;
    const child: SchemaNode | undefined = node?.kind === 'section' ? node.children[key] : undefined;
    const existing = map.entries.get(key);
    if (last) {
      // REGISTRY_AUTH=htpasswd while config.yml already configures htpasswd: keep its settings.
      const keepsSelection =
        child?.kind === 'section' && child.scalarSelectsKey && value.kind === 'scalar' &&
        existing?.kind === 'map' && existing.entries.size === 1 && existing.entries.has(value.text);
      if (!keepsSelection) map.entries.set(key, value);
      return;
    }
    let next: RawMap;
    if (existing?.kind === 'map') {
      next = existing;
    } else {
      next = emptyMap(value.origin);
      // `auth: htpasswd` (a type given as a value) becomes `auth: {htpasswd: {}}` before descending.
      if (existing?.kind === 'scalar' && typeof existing.value === 'string' && child?.kind === 'section' && child.scalarSelectsKey) {
        next.entries.set(existing.value, emptyMap(existing.origin));
      }
      map.entries.set(key, next);
    }
    map = next;
    node = child;
  }
}

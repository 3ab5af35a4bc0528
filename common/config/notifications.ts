// registry:2's `notifications.endpoints`: a list of endpoints, parsed from the YAML tree
// (config.yml, or REGISTRY_NOTIFICATIONS_ENDPOINTS holding the whole list as YAML, as registry:2
// reads a list-valued variable).
import { parseGoDuration } from './duration.js';
import { describeRaw, type RawNode } from './raw.js';
import * as v from './values.js';

export const NOTIFICATION_ACTIONS = ['push', 'pull', 'delete', 'mount'] as const;
export type NotificationAction = (typeof NOTIFICATION_ACTIONS)[number];

export interface NotificationEndpoint {
  name: string;
  url: string;
  /** Added to every POST (registry:2 `headers`, each a list of values). */
  headers: Record<string, string[]>;
  /** One POST may take this long (registry:2 default 1s). */
  timeoutMs: number;
  /** Failures in a row before the endpoint waits `backoff` between attempts (default 10). */
  threshold: number;
  backoffMs: number;
  /** Events whose target has one of these media types are not sent (`ignoredmediatypes` and `ignore.mediatypes`). */
  ignoredMediaTypes: string[];
  ignoredActions: NotificationAction[];
  disabled: boolean;
  /** Project setting: events kept for a slow or dead endpoint; past it the oldest are dropped (default 10000). */
  queuesize: number;
}

export const NOTIFICATION_DEFAULTS = { timeoutMs: 1000, threshold: 10, backoffMs: 1000, queuesize: 10_000 } as const;

export function mapOf(node: RawNode, what: string): Map<string, RawNode> {
  if (node.kind !== 'map') throw new v.ValueProblem(`expected ${what} (a mapping), got ${describeRaw(node)}`);
  return node.entries;
}

export function listOf(node: RawNode, what: string): RawNode[] {
  if (node.kind === 'scalar' && node.value === null) return [];
  if (node.kind !== 'list') throw new v.ValueProblem(`expected a list of ${what}, got ${describeRaw(node)}`);
  return node.items;
}

export function checkKeys(entries: Map<string, RawNode>, accepted: readonly string[], where: string): void {
  for (const key of entries.keys()) {
    if (!accepted.includes(key)) throw new v.ValueProblem(`${where}: unknown key "${key}" (accepted: ${accepted.join(', ')})`);
  }
}

export function durationOf(node: RawNode, where: string): number {
  // registry:2 reads a bare number as nanoseconds; a unit is required here, as everywhere else.
  const ms = node.kind === 'scalar' ? parseGoDuration(node.text) : undefined;
  if (ms === undefined || ms <= 0) throw new v.ValueProblem(`${where}: expected a duration such as 1s or 500ms, got ${describeRaw(node)}`);
  return ms;
}

const ENDPOINT_KEYS = ['name', 'url', 'headers', 'timeout', 'threshold', 'backoff', 'ignoredmediatypes', 'ignore', 'disabled', 'queuesize'] as const;

export const notificationEndpoints: v.ValueParser<NotificationEndpoint[]> = (node, ctx) => {
  const names = new Set<string>();
  return listOf(node, 'endpoints').map((item, index) => {
    const entries = mapOf(item, `endpoint ${index + 1}`);
    const where = `endpoint ${index + 1}`;
    checkKeys(entries, ENDPOINT_KEYS, where);
    const get = (key: string) => {
      const found = entries.get(key);
      return found === undefined || (found.kind === 'scalar' && found.value === null) ? undefined : found;
    };
    const nameNode = get('name');
    const urlNode = get('url');
    if (!nameNode || !urlNode) throw new v.ValueProblem(`${where}: name and url are required`);
    const name = v.string(nameNode, ctx);
    if (names.has(name)) throw new v.ValueProblem(`${where}: another endpoint is already named "${name}"`);
    names.add(name);
    const headers: Record<string, string[]> = {};
    const headersNode = get('headers');
    if (headersNode) {
      for (const [header, values] of mapOf(headersNode, `${where} headers`)) {
        v.checkHeaderName(header);
        headers[header] = v.headerValues(values, ctx);
      }
    }
    const ignore = get('ignore');
    const ignoreEntries = ignore ? mapOf(ignore, `${where} ignore`) : new Map<string, RawNode>();
    checkKeys(ignoreEntries, ['mediatypes', 'actions'], `${where} ignore`);
    const ignoredActions = ignoreEntries.get('actions') ? v.stringList(ignoreEntries.get('actions')!, ctx) : [];
    for (const action of ignoredActions) {
      if (!(NOTIFICATION_ACTIONS as readonly string[]).includes(action)) {
        throw new v.ValueProblem(`${where} ignore.actions: "${action}" is not an action (${NOTIFICATION_ACTIONS.join(', ')})`);
      }
    }
    const threshold = get('threshold');
    const queuesize = get('queuesize');
    const disabled = get('disabled');
    return {
      name,
      url: v.httpUrl(urlNode, ctx),
      headers,
      timeoutMs: get('timeout') ? durationOf(get('timeout')!, `${where} timeout`) : NOTIFICATION_DEFAULTS.timeoutMs,
      threshold: threshold ? v.positiveInteger(threshold, ctx) : NOTIFICATION_DEFAULTS.threshold,
      backoffMs: get('backoff') ? durationOf(get('backoff')!, `${where} backoff`) : NOTIFICATION_DEFAULTS.backoffMs,
      ignoredMediaTypes: [
        ...(get('ignoredmediatypes') ? v.stringList(get('ignoredmediatypes')!, ctx) : []),
        ...(ignoreEntries.get('mediatypes') ? v.stringList(ignoreEntries.get('mediatypes')!, ctx) : []),
      ],
      ignoredActions: ignoredActions as NotificationAction[],
      disabled: disabled ? v.boolean(disabled, ctx) : false,
      queuesize: queuesize ? v.positiveInteger(queuesize, ctx) : NOTIFICATION_DEFAULTS.queuesize,
    };
  });
};

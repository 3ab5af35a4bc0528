// Reads an access policy (groups, admins, rules) out of a YAML tree and checks it, collecting every
// problem with the line it is on. The tree is common/config/raw.ts's, so a policy file and an
// inline `access:` section of config.yml are read by the same code and located the same way.
import type { Action } from '../../common/v2-scope.js';
import { describeRaw, parseYamlFile, type Origin, type RawNode } from '../../common/config/raw.js';
import { compileRepositoryGlob, GlobProblem, type RepositoryGlob } from './repository-glob.js';

export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

/** "Any authenticated user" in a rule's `users`. */
export const ANY_USER = '*';

export interface RuleSpec {
  /** 1-based position in `rules`. */
  index: number;
  /** Where the rule starts: `policy.yml line 7`. */
  location: string;
  repositories: RepositoryGlob[];
  users: string[];
  groups: string[];
  anonymous: boolean;
  actions: Action[];
}

export interface PolicyDocument {
  /** The file (or config.yml) the policy came from, for messages. */
  source: string;
  groups: Map<string, string[]>;
  admins: string[];
  /** Where `admins` is written, for decisions made by it. */
  adminsLocation: string;
  rules: RuleSpec[];
  /** Legal but probably not meant (a rule granting push to anonymous users). */
  warnings: string[];
}

/** The policy cannot be used; `problems` has every reason, each naming its line. */
export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid access policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PolicyError';
  }
}

const TOP_LEVEL_KEYS = ['groups', 'admins', 'rules'];
const RULE_KEYS = ['repositories', 'users', 'groups', 'anonymous', 'actions'];

/** A policy file's text; `source` names it in messages. */
export function parsePolicyText(text: string, source: string): PolicyDocument {
  let root: RawNode | undefined;
  try {
    root = parseYamlFile(text, source);
  } catch (error) {
    throw new PolicyError([(error as Error).message]);
  }
  if (root === undefined) throw new PolicyError([`${source}: the access policy is empty (give at least "rules:")`]);
  return readPolicyDocument(root, source);
}

/** A policy already read as YAML (a file, or config.yml's inline `access:` mapping). */
export function readPolicyDocument(root: RawNode, source: string): PolicyDocument {
  const problems: string[] = [];
  const warnings: string[] = [];
  const problem = (origin: Origin, message: string) => problems.push(`${where(origin, source)}: ${message}`);

  const doc: PolicyDocument = { source, groups: new Map(), admins: [], adminsLocation: where(root.origin, source), rules: [], warnings };
  if (root.kind !== 'map') {
    problem(root.origin, `expected a mapping with groups, admins and rules, got ${describeRaw(root)}`);
    throw new PolicyError(problems);
  }
  for (const [key, node] of root.entries) {
    if (!TOP_LEVEL_KEYS.includes(key)) problem(node.origin, `unknown key "${key}" (accepted: ${TOP_LEVEL_KEYS.join(', ')})`);
  }

  const groupsNode = root.entries.get('groups');
  if (groupsNode !== undefined && !isNull(groupsNode)) {
    if (groupsNode.kind !== 'map') {
      problem(groupsNode.origin, `groups: expected a mapping of group name to user names, got ${describeRaw(groupsNode)}`);
    } else {
      for (const [name, members] of groupsNode.entries) {
        const users = stringList(members, `groups.${name}`, problem);
        if (users) doc.groups.set(name, users);
      }
    }
  }

  const adminsNode = root.entries.get('admins');
  if (adminsNode !== undefined && !isNull(adminsNode)) {
    doc.adminsLocation = where(adminsNode.origin, source);
    const admins = stringList(adminsNode, 'admins', problem);
    if (admins?.includes(ANY_USER)) problem(adminsNode.origin, 'admins: "*" would make every user an admin; name the admins');
    doc.admins = admins ?? [];
  }

  const rulesNode = root.entries.get('rules');
  if (rulesNode === undefined) {
    problem(root.origin, 'rules: missing (write "rules: []" to allow only the admins)');
  } else if (!isNull(rulesNode)) {
    if (rulesNode.kind !== 'list') {
      problem(rulesNode.origin, `rules: expected a list of rules, got ${describeRaw(rulesNode)}`);
    } else {
      rulesNode.items.forEach((item, i) => {
        const rule = readRule(item, i + 1, doc, problem);
        if (rule) doc.rules.push(rule);
      });
    }
  }

  if (problems.length > 0) throw new PolicyError(problems);
  return doc;
}

function readRule(
  node: RawNode,
  index: number,
  doc: PolicyDocument,
  problem: (origin: Origin, message: string) => void,
): RuleSpec | undefined {
  const name = `rules[${index}]`;
  if (node.kind !== 'map') {
    problem(node.origin, `${name}: expected a mapping with repositories, actions and who (users, groups or anonymous), got ${describeRaw(node)}`);
    return undefined;
  }
  const before = doc.warnings.length;
  let ok = true;
  const fail = (origin: Origin, message: string) => {
    ok = false;
    problem(origin, `${name}.${message}`);
  };
  // A rule's own problems are reported at its keys; the rule as a whole is located at its first key.
  const firstKey = node.entries.values().next().value;
  const location = where(firstKey?.origin ?? node.origin, doc.source);
  for (const [key, child] of node.entries) {
    if (!RULE_KEYS.includes(key)) fail(child.origin, `${key}: unknown key (accepted: ${RULE_KEYS.join(', ')})`);
  }

  const repositories: RepositoryGlob[] = [];
  forEachRequiredName(node, 'repositories', 'e.g. repositories: ["team/**"]', fail, (glob, item) => {
    try {
      repositories.push(compileRepositoryGlob(glob));
    } catch (error) {
      if (!(error instanceof GlobProblem)) throw error;
      fail(item.origin, `repositories: ${error.message}`);
    }
  });

  const actions: Action[] = [];
  forEachRequiredName(node, 'actions', 'some of pull, push, delete', fail, (text, item) => {
    const action = ACTIONS.find((a) => a === text.trim().toLowerCase());
    if (action === undefined) fail(item.origin, `actions: unknown action ${JSON.stringify(text)} (accepted: ${ACTIONS.join(', ')})`);
    else if (!actions.includes(action)) actions.push(action);
  });

  const usersNode = node.entries.get('users');
  const users = usersNode === undefined || isNull(usersNode) ? [] : (stringList(usersNode, 'users', fail) ?? []);
  const groupsNode = node.entries.get('groups');
  const groups = groupsNode === undefined || isNull(groupsNode) ? [] : (stringList(groupsNode, 'groups', fail) ?? []);
  if (groupsNode !== undefined) {
    for (const group of groups) {
      if (!doc.groups.has(group)) fail(groupsNode.origin, `groups: unknown group "${group}" (defined: ${[...doc.groups.keys()].join(', ') || 'none'})`);
    }
  }
  let anonymous = false;
  const anonymousNode = node.entries.get('anonymous');
  if (anonymousNode !== undefined) {
    if (anonymousNode.kind === 'scalar' && typeof anonymousNode.value === 'boolean') anonymous = anonymousNode.value;
    else fail(anonymousNode.origin, `anonymous: expected true or false, got ${describeRaw(anonymousNode)}`);
  }
  if (ok && users.length === 0 && groups.length === 0 && !anonymous) {
    fail(node.origin, 'grants nobody: give users, groups or anonymous: true');
  }
  if (anonymous && actions.some((a) => a !== 'pull')) {
    doc.warnings.push(`${location}: ${name} lets anyone, without credentials, ${actions.filter((a) => a !== 'pull').join(' and ')}`);
  }
  if (!ok) {
    doc.warnings.length = before;
    return undefined;
  }
  return { index, location, repositories, users, groups, anonymous, actions };
}

type Fail = (origin: Origin, message: string) => void;

/** A rule's required list of names (`repositories`, `actions`): each name in turn, or a problem. */
function forEachRequiredName(rule: RawNode & { kind: 'map' }, key: string, hint: string, fail: Fail, take: (name: string, item: RawNode) => void): void {
  const list = rule.entries.get(key);
  if (list === undefined) return fail(rule.origin, `${key}: missing (${hint})`);
  for (const item of listItems(list, key, fail) ?? []) {
    const name = scalarString(item, key, fail);
    if (name !== undefined) take(name, item);
  }
}

function listItems(node: RawNode, key: string, fail: Fail): RawNode[] | undefined {
  if (node.kind !== 'list') {
    fail(node.origin, `${key}: expected a list such as [${key === 'actions' ? 'pull' : 'a, b'}], got ${describeRaw(node)}`);
    return undefined;
  }
  if (node.items.length === 0) fail(node.origin, `${key}: the list is empty`);
  return node.items;
}

function scalarString(node: RawNode, key: string, fail: Fail): string | undefined {
  // Names are text: `users: [007]` is the user "007", not the number 7.
  if (node.kind === 'scalar' && node.value !== null && node.text !== '') return node.text;
  fail(node.origin, `${key}: expected a name, got ${describeRaw(node)}`);
  return undefined;
}

function stringList(node: RawNode, key: string, fail: Fail): string[] | undefined {
  const items = listItems(node, key, fail);
  if (!items) return undefined;
  const names: string[] = [];
  for (const item of items) {
    const name = scalarString(item, key, fail);
    if (name !== undefined) names.push(name);
  }
  return names;
}

function isNull(node: RawNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

/** `policy.yml line 7`, or the variable that set the value. */
export function where(origin: Origin, source: string): string {
  if (origin.kind === 'file') return `${origin.file} line ${origin.line}`;
  if (origin.kind === 'env') return origin.name;
  return source;
}

// The compiled access policy: who may do which action on which repository. Grants are a union:
// a request is allowed when an admin makes it or any rule grants it, and nothing else is
// allowed. Everything a check needs is prepared once: globs compiled and groups expanded at load
// time, and per user (on first use) the grants that apply to them for each action, so a check is
// a Map lookup and the RegExp tests of that user's grants only.
import type { Action } from '../../common/v2-scope.js';
import { ACTIONS, ANY_USER, type PolicyDocument, type RuleSpec } from './policy-document.js';
import type { RepositoryGlob } from './repository-glob.js';

/** Who is asking: a user who proved their password, or nobody (no credentials). */
export type Subject = { user: string } | { anonymous: true };

export const ANONYMOUS: Subject = { anonymous: true };

export interface RuleSummary {
  index: number;
  location: string;
  repositories: string[];
  actions: Action[];
}

export type Decision =
  | { allowed: true; by: 'admin'; location: string }
  | { allowed: true; by: 'rule'; rule: RuleSummary }
  | { allowed: false; by: 'no-rule' };

/** One repository glob of one rule, for one action. */
interface Grant {
  glob: RepositoryGlob;
  rule: RuleSummary;
}

type GrantsByAction = Record<Action, Grant[]>;

/** Bound on users whose grants are kept; a policy reload starts afresh anyway. */
const MAX_CACHED_USERS = 10_000;

interface CompiledRule {
  summary: RuleSummary;
  spec: RuleSpec;
  /** `users` with the members of `groups` added. */
  users: Set<string>;
  anyUser: boolean;
  actions: Set<Action>;
}

export class AccessPolicy {
  readonly source: string;
  readonly ruleCount: number;
  readonly warnings: readonly string[];
  readonly #admins: Set<string>;
  readonly #adminsLocation: string;
  readonly #rules: CompiledRule[];
  readonly #anonymousGrants: GrantsByAction;
  readonly #userGrants = new Map<string, GrantsByAction>();

  constructor(doc: PolicyDocument) {
    this.source = doc.source;
    this.ruleCount = doc.rules.length;
    this.warnings = doc.warnings;
    this.#admins = new Set(doc.admins);
    this.#adminsLocation = doc.adminsLocation;
    this.#rules = doc.rules.map((spec) => {
      const users = new Set(spec.users.filter((user) => user !== ANY_USER));
      for (const group of spec.groups) for (const member of doc.groups.get(group) ?? []) users.add(member);
      return {
        spec,
        summary: { index: spec.index, location: spec.location, repositories: spec.repositories.map((g) => g.source), actions: spec.actions },
        users,
        anyUser: spec.users.includes(ANY_USER),
        actions: new Set(spec.actions),
      };
    });
    this.#anonymousGrants = this.#grantsOf(undefined);
  }

  isAdmin(subject: Subject): boolean {
    return 'user' in subject && this.#admins.has(subject.user);
  }

  /** Whether `subject` may do `action` on `repository`, and which rule (or admin entry) says so. */
  decide(subject: Subject, action: Action, repository: string): Decision {
    const user = 'user' in subject ? subject.user : undefined;
    if (user !== undefined && this.#admins.has(user)) return { allowed: true, by: 'admin', location: this.#adminsLocation };
    const grants = user === undefined ? this.#anonymousGrants : this.#grantsFor(user);
    for (const grant of grants[action]) {
      if (grant.glob.matches(repository, user)) return { allowed: true, by: 'rule', rule: grant.rule };
    }
    return { allowed: false, by: 'no-rule' };
  }

  #grantsFor(user: string): GrantsByAction {
    let grants = this.#userGrants.get(user);
    if (grants === undefined) {
      if (this.#userGrants.size >= MAX_CACHED_USERS) this.#userGrants.clear();
      grants = this.#grantsOf(user);
      this.#userGrants.set(user, grants);
    }
    return grants;
  }

  /** The grants that apply to `user` (undefined: anonymous), in rule order, by action. */
  #grantsOf(user: string | undefined): GrantsByAction {
    const grants = Object.fromEntries(ACTIONS.map((action) => [action, [] as Grant[]])) as GrantsByAction;
    for (const rule of this.#rules) {
      if (!appliesTo(rule, user)) continue;
      for (const action of rule.actions) {
        for (const glob of rule.spec.repositories) {
          // `{user}` never matches for an anonymous request: leave it out of the list.
          if (user === undefined && glob.perUser) continue;
          grants[action].push({ glob, rule: rule.summary });
        }
      }
    }
    return grants;
  }

  /**
   * Whether `subject` may do `action` on every repository (an admin, or a `**` rule that applies):
   * the catalog then needs no filtering.
   */
  allowsEverywhere(subject: Subject, action: Action): boolean {
    const user = 'user' in subject ? subject.user : undefined;
    if (user !== undefined && this.#admins.has(user)) return true;
    return this.#rules.some((rule) => rule.actions.has(action) && appliesTo(rule, user) && rule.spec.repositories.some((g) => g.matchesAll));
  }

  /** Whether some rule grants anything without credentials (else anonymous requests need not be considered). */
  get grantsAnonymous(): boolean {
    return this.#rules.some((rule) => rule.spec.anonymous);
  }
}

/** Anonymous grants apply to everyone: logging in never takes access away. */
function appliesTo(rule: CompiledRule, user: string | undefined): boolean {
  if (rule.spec.anonymous) return true;
  if (user === undefined) return false;
  return rule.anyUser || rule.users.has(user);
}

/** One line for logs and the CLI: `allowed by rules[2] (policy.yml line 7: team/** → pull, push)`. */
export function describeDecision(decision: Decision): string {
  if (decision.by === 'admin') return `allowed: admin (${decision.location})`;
  if (decision.by === 'rule') {
    const { rule } = decision;
    return `allowed by rules[${rule.index}] (${rule.location}: ${rule.repositories.join(', ')} → ${rule.actions.join(', ')})`;
  }
  return 'denied: no rule grants it';
}

/** The short form a log field holds: `rules[2]`, `admin`, `none`. */
export function decidingRule(decision: Decision): string {
  if (decision.by === 'admin') return 'admin';
  if (decision.by === 'rule') return `rules[${decision.rule.index}]`;
  return 'none';
}

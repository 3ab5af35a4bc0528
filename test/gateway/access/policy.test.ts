// The access policy without a server: globs, {user}, groups, union of grants, anonymous, admins,
// and the decision that names the rule.
import test from 'ava';
import { AccessPolicy, ANONYMOUS, compileRepositoryGlob, describeDecision, parsePolicyText, type Subject } from '../../../gateway/access/index.js';
import { ACCESS_POLICY } from '../../helpers/access-policy.js';


const policy = new AccessPolicy(parsePolicyText(ACCESS_POLICY, 'policy.yml'));
const user = (name: string): Subject => ({ user: name });

test('* stays within one path component, ** crosses components (and matches zero of them)', (t) => {
  const star = compileRepositoryGlob('team/*');
  t.true(star.matches('team/a', undefined));
  t.false(star.matches('team/a/b', undefined));
  t.false(star.matches('team', undefined));
  const globstar = compileRepositoryGlob('team/**');
  for (const name of ['team', 'team/a', 'team/a/b']) t.true(globstar.matches(name, undefined), name);
  for (const name of ['teams', 'teams/a', 'x/team/a']) t.false(globstar.matches(name, undefined), name);
  const middle = compileRepositoryGlob('a/**/z');
  for (const name of ['a/z', 'a/b/z', 'a/b/c/z']) t.true(middle.matches(name, undefined), name);
  for (const name of ['a/bz', 'az', 'a/z/b']) t.false(middle.matches(name, undefined), name);
  const leading = compileRepositoryGlob('**/cache');
  for (const name of ['cache', 'x/cache', 'x/y/cache']) t.true(leading.matches(name, undefined), name);
  t.false(leading.matches('xcache', undefined));
  const partial = compileRepositoryGlob('app-*-prod');
  t.true(partial.matches('app-web-prod', undefined));
  t.false(partial.matches('app-web/x-prod', undefined));
  t.true(compileRepositoryGlob('**').matchesAll);
  t.true(compileRepositoryGlob('**/**').matches('a/b', undefined));
  t.false(compileRepositoryGlob('a.b').matches('axb', undefined), '. is literal');
});

test('{user} is replaced by the user name literally, never read as a pattern', (t) => {
  const own = compileRepositoryGlob('{user}/**');
  t.true(own.matches('alice/app', 'alice'));
  t.true(own.matches('alice', 'alice'));
  t.false(own.matches('alice/app', 'bob'));
  t.false(own.matches('alice/app', undefined), 'never for an anonymous request');
  t.false(own.matches('alice/app', '*'), 'a user called * owns "*/…", which no repository is');
  t.false(own.matches('alice/app', '.*'), 'nor is .* a regular expression');
  t.false(own.matches('ab/app', 'a.'));
  t.true(own.matches('a/b/app', 'a/b'), 'a user name with / owns exactly that path');
  t.false(own.matches('a/c/app', 'a/*'));
  t.false(own.matches('alice/app', 'alice|bob'));
  t.false(compileRepositoryGlob('x-{user}').matches('x-bob', '(bob)'));
  t.true(compileRepositoryGlob('home/{user}-*/**').matches('home/bob-tools/x', 'bob'));
});

test('the issue\'s policy: own namespace, team namespace, pull-everything user, public, admin', (t) => {
  const allowed = (subject: Subject, action: 'pull' | 'push' | 'delete', repo: string) => policy.decide(subject, action, repo).allowed;
  t.true(allowed(user('alice'), 'push', 'alice/app'));
  t.true(allowed(user('alice'), 'delete', 'alice/app'));
  t.false(allowed(user('bob'), 'push', 'alice/app'));
  t.false(allowed(user('bob'), 'pull', 'alice/app'));
  t.true(allowed(user('carol'), 'push', 'carol/x/y'));
  // groups
  t.true(allowed(user('bob'), 'push', 'team/svc'));
  t.false(allowed(user('bob'), 'delete', 'team/svc'), 'the team rule grants no delete');
  t.false(allowed(user('carol'), 'pull', 'team/svc'), 'carol is not in the team');
  // a pull-only user
  t.true(allowed(user('puller'), 'pull', 'alice/app'));
  t.false(allowed(user('puller'), 'push', 'alice/app'));
  t.true(allowed(user('puller'), 'push', 'puller/own'), 'union: the {user} rule applies to everyone');
  // anonymous
  t.true(allowed(ANONYMOUS, 'pull', 'public/base'));
  t.false(allowed(ANONYMOUS, 'push', 'public/base'));
  t.false(allowed(ANONYMOUS, 'pull', 'alice/app'));
  t.true(allowed(user('bob'), 'pull', 'public/base'), 'anonymous grants also apply after logging in');
  // admin
  t.true(allowed(user('root'), 'delete', 'alice/app'));
  t.true(policy.isAdmin(user('root')));
  t.false(policy.isAdmin(user('alice')));
  t.false(policy.isAdmin(ANONYMOUS));
  // nothing else
  t.false(allowed(user('carol'), 'pull', 'elsewhere'));
});

test('the decision names the rule (first granting one) and where it is written', (t) => {
  const decision = policy.decide(user('bob'), 'push', 'team/svc');
  t.like(decision, { allowed: true, by: 'rule', rule: { index: 2, location: 'policy.yml line 8' } });
  t.is(describeDecision(decision), 'allowed by rules[2] (policy.yml line 8: team/** → pull, push)');
  t.is(describeDecision(policy.decide(user('root'), 'delete', 'x')), 'allowed: admin (policy.yml line 3)');
  t.deepEqual(policy.decide(user('bob'), 'pull', 'alice/app'), { allowed: false, by: 'no-rule' });
  t.like(policy.decide(user('puller'), 'pull', 'public/x'), { by: 'rule', rule: { index: 3 } });
});

test('union of grants across rules; nothing that no rule grants', (t) => {
  const p = new AccessPolicy(
    parsePolicyText(
      `rules:
  - {repositories: ["shared/*"], users: [alice], actions: [pull]}
  - {repositories: ["shared/app"], users: [alice], actions: [push]}
`,
      'p.yml',
    ),
  );
  t.true(p.decide(user('alice'), 'pull', 'shared/app').allowed);
  t.true(p.decide(user('alice'), 'push', 'shared/app').allowed);
  t.false(p.decide(user('alice'), 'push', 'shared/other').allowed);
  t.false(p.decide(user('alice'), 'delete', 'shared/app').allowed);
  const empty = new AccessPolicy(parsePolicyText('admins: [root]\nrules: []\n', 'e.yml'));
  t.false(empty.decide(user('alice'), 'pull', 'x').allowed);
  t.true(empty.decide(user('root'), 'pull', 'x').allowed);
});

test('allowsEverywhere and grantsAnonymous, for the catalog and for anonymous requests', (t) => {
  t.true(policy.allowsEverywhere(user('puller'), 'pull'));
  t.true(policy.allowsEverywhere(user('root'), 'pull'));
  t.false(policy.allowsEverywhere(user('alice'), 'pull'));
  t.false(policy.allowsEverywhere(user('puller'), 'push'));
  t.true(policy.grantsAnonymous);
  t.false(new AccessPolicy(parsePolicyText('rules: [{repositories: [x], users: [a], actions: [pull]}]', 'p')).grantsAnonymous);
});

test('YAML positions: the same user name in quotes or not, numbers read as written', (t) => {
  const p = new AccessPolicy(parsePolicyText('rules:\n  - {repositories: ["ci/*"], users: [007, "true"], actions: [PULL]}\n', 'p'));
  t.true(p.decide(user('007'), 'pull', 'ci/x').allowed);
  t.true(p.decide(user('true'), 'pull', 'ci/x').allowed);
  t.false(p.decide(user('7'), 'pull', 'ci/x').allowed);
});

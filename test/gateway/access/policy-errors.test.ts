// A broken policy is refused with every problem, each naming the line it is on.
import test from 'ava';
import { parsePolicyText, PolicyError } from '../../../gateway/access/index.js';

function problemsOf(text: string): string[] {
  try {
    parsePolicyText(text, 'policy.yml');
  } catch (error) {
    if (error instanceof PolicyError) return error.problems;
    throw error;
  }
  throw new Error('the policy was accepted');
}

test('every problem is reported, each with its line', (t) => {
  const problems = problemsOf(`groups:
  team: [alice]
rules:
  - repositories: ["team/**"]
    groups: [team, ops]
    actions: [pull, pul]
  - repositories: ["Team/*", "a//b", "x**", "{owner}/*"]
    users: ["*"]
    actions: [push]
  - repositories: ["x/*"]
    actions: [pull]
  - repositories: "solo"
    users: [bob]
    actions: []
    extra: 1
`);
  t.deepEqual(problems, [
    'policy.yml line 6: rules[1].actions: unknown action "pul" (accepted: pull, push, delete)',
    'policy.yml line 5: rules[1].groups: unknown group "ops" (defined: team)',
    'policy.yml line 7: rules[2].repositories: "Team/*": "T" never occurs in a repository name (lower-case letters, digits, ".", "_", "-" and "/"; globs add *, ** and {user})',
    'policy.yml line 7: rules[2].repositories: "a//b": empty path component (a leading, trailing or doubled "/")',
    'policy.yml line 7: rules[2].repositories: "x**": "**" must be a whole path component (as in team/**)',
    'policy.yml line 7: rules[2].repositories: "{owner}/*": unknown placeholder (the only one is {user})',
    'policy.yml line 10: rules[3].grants nobody: give users, groups or anonymous: true',
    'policy.yml line 15: rules[4].extra: unknown key (accepted: repositories, users, groups, anonymous, actions)',
    'policy.yml line 12: rules[4].repositories: expected a list such as [a, b], got "solo"',
    'policy.yml line 14: rules[4].actions: the list is empty',
  ]);
});

test('YAML syntax errors name the line', (t) => {
  const [problem] = problemsOf('rules:\n  - repositories: [a\n    actions: [pull]\n');
  t.regex(problem!, /^policy\.yml: not valid YAML/);
  t.regex(problem!, /line \d/);
  t.regex(problemsOf('rules: []\nrules: []\n')[0]!, /line 2/);
});

test('top-level mistakes: unknown keys, missing rules, an empty file, admins "*"', (t) => {
  t.deepEqual(problemsOf('rule: []\n'), [
    'policy.yml line 1: unknown key "rule" (accepted: groups, admins, rules)',
    'policy.yml line 1: rules: missing (write "rules: []" to allow only the admins)',
  ]);
  t.deepEqual(problemsOf('# nothing\n'), ['policy.yml: the access policy is empty (give at least "rules:")']);
  t.deepEqual(problemsOf('- a\n'), ['policy.yml line 1: expected a mapping with groups, admins and rules, got a list']);
  t.deepEqual(problemsOf('admins: ["*"]\nrules: []\n'), ['policy.yml line 1: admins: "*" would make every user an admin; name the admins']);
  t.deepEqual(problemsOf('groups: {team: alice}\nrules: []\n'), ['policy.yml line 1: groups.team: expected a list such as [a, b], got "alice"']);
});

test('a rule letting anonymous users push is accepted with a warning', (t) => {
  const doc = parsePolicyText('rules:\n  - {repositories: [drop/*], anonymous: true, actions: [pull, push]}\n', 'policy.yml');
  t.deepEqual(doc.warnings, ['policy.yml line 2: rules[1] lets anyone, without credentials, push']);
});

// Micro-benchmark of the policy check (not an ava test): a 50-rule policy, a mix of users,
// actions and repositories, 1M checks. Run: node dist/test/gateway/access/policy-bench.js [checks]
import { AccessPolicy, ANONYMOUS, parsePolicyText, type Subject } from '../../../gateway/access/index.js';
import type { Action } from '../../../common/v2-scope.js';

const rules: string[] = [
  '  - {repositories: ["{user}/**"], users: ["*"], actions: [pull, push, delete]}',
  '  - {repositories: ["public/**"], anonymous: true, actions: [pull]}',
  '  - {repositories: ["**"], users: [k8s-puller], actions: [pull]}',
];
for (let i = rules.length; i < 50; i++) {
  rules.push(`  - {repositories: ["team${i}/**", "shared/team${i}-*"], groups: [g${i % 10}], actions: [pull${i % 3 === 0 ? ', push' : ''}]}`);
}
const groups = Array.from({ length: 10 }, (_, g) => `  g${g}: [${Array.from({ length: 20 }, (_, u) => `user${g * 20 + u}`).join(', ')}]`);
const text = `groups:\n${groups.join('\n')}\nadmins: [root]\nrules:\n${rules.join('\n')}\n`;
const policy = new AccessPolicy(parsePolicyText(text, 'bench.yml'));

const subjects: Subject[] = [{ user: 'user7' }, { user: 'user150' }, { user: 'alice' }, { user: 'k8s-puller' }, ANONYMOUS];
const actions: Action[] = ['pull', 'push', 'delete'];
const repositories = ['alice/app', 'team47/svc/api', 'shared/team12-cache', 'public/base', 'nobody/here/at/all', 'user7/tool'];
const cases = subjects.flatMap((subject) => actions.flatMap((action) => repositories.map((repo) => ({ subject, action, repo }))));

const checks = Number(process.argv[2] ?? 1_000_000);
let allowed = 0;
// Warm-up (JIT, per-user RegExp caches), then the measured run.
for (let i = 0; i < 100_000; i++) {
  const c = cases[i % cases.length]!;
  if (policy.decide(c.subject, c.action, c.repo).allowed) allowed++;
}
allowed = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < checks; i++) {
  const c = cases[i % cases.length]!;
  if (policy.decide(c.subject, c.action, c.repo).allowed) allowed++;
}
const ns = Number(process.hrtime.bigint() - start) / checks;
const load = process.hrtime.bigint();
for (let i = 0; i < 100; i++) new AccessPolicy(parsePolicyText(text, 'bench.yml'));
const loadMs = Number(process.hrtime.bigint() - load) / 100 / 1e6;
console.log(`${policy.ruleCount} rules, ${checks} checks over ${cases.length} cases (${Math.round((allowed / checks) * 100)}% allowed): ${ns.toFixed(0)} ns/check; policy load ${loadMs.toFixed(2)} ms`);

// The policy file followed live: a change applies once seen, a broken file keeps the last good
// policy (and says why), a broken file at start-up is an error naming the line.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { parseYamlFile, type RawMap } from '../../../common/config/raw.js';
import { openPolicySource, PolicyError, type PolicySource } from '../../../gateway/access/index.js';
import { waitFor } from '../../helpers/wait.js';
import { captureLogger } from '../helpers/capture-logger.js';

const ALICE_PULLS = 'rules:\n  - {repositories: ["shared/*"], users: [alice], actions: [pull]}\n';
const ALICE_PUSHES = 'rules:\n  - {repositories: ["shared/*"], users: [alice], actions: [pull, push]}\n';

async function policyFile(t: ExecutionContext, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'access-policy-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'access.yml');
  await writeFile(path, text);
  return path;
}

async function open(t: ExecutionContext, path: string) {
  const logs = captureLogger('debug');
  const source = await openPolicySource({ path }, { logger: logs.logger, reloadIntervalMs: 50 });
  t.teardown(() => source.close());
  return { source, logs };
}

const mayPush = async (source: PolicySource) => (await source.current()).decide({ user: 'alice' }, 'push', 'shared/app').allowed;

test('a grant added to the file applies once the change is seen, and a grant removed stops applying', async (t) => {
  const path = await policyFile(t, ALICE_PULLS);
  const { source, logs } = await open(t, path);
  t.false(await mayPush(source));
  await writeFile(path, ALICE_PUSHES);
  await waitFor(() => source.reloads() === 1, 3000, 20);
  t.true(await mayPush(source));
  await writeFile(path, ALICE_PULLS);
  await waitFor(() => source.reloads() === 2, 3000, 20);
  t.false(await mayPush(source));
  t.true(logs.lines().some((line) => line.msg === 'access policy: file changed, policy reloaded' && line.rules === 1));
});

test('the next request after a change sees it without waiting for the poll', async (t) => {
  const path = await policyFile(t, ALICE_PULLS);
  const logs = captureLogger('debug');
  // No timely poll: only the check a request makes (at most every 250 ms) can see the change.
  const source = await openPolicySource({ path }, { logger: logs.logger, reloadIntervalMs: 60_000 });
  t.teardown(() => source.close());
  t.false(await mayPush(source));
  await rename(await policyFile(t, ALICE_PUSHES), path);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.true(await mayPush(source));
});

test('a broken file keeps the last good policy and logs the line; fixing it applies again', async (t) => {
  const path = await policyFile(t, ALICE_PUSHES);
  const { source, logs } = await open(t, path);
  await writeFile(path, 'rules:\n  - {repositories: ["shared/*"], users: [alice], actions: [pul]}\n');
  await waitFor(() => logs.lines().some((line) => line.level === 50), 3000, 20);
  t.true(await mayPush(source), 'the last good policy is still in force');
  const error = logs.lines().find((line) => line.level === 50)!;
  t.deepEqual(error.problems, [`${path} line 2: rules[1].actions: unknown action "pul" (accepted: pull, push, delete)`]);
  t.regex(String(error.msg), /keeping the last good policy/);
  await writeFile(path, ALICE_PULLS);
  await waitFor(() => source.reloads() === 1, 3000, 20);
  t.false(await mayPush(source));
});

test('a deleted file keeps the policy; a broken or missing file at start-up is an error', async (t) => {
  const path = await policyFile(t, ALICE_PUSHES);
  const { source, logs } = await open(t, path);
  await rm(path);
  await waitFor(() => logs.lines().some((line) => line.level === 50), 3000, 20);
  t.true(await mayPush(source));

  const logger = captureLogger().logger;
  await t.throwsAsync(openPolicySource({ path }, { logger }), { message: `access policy file not found: ${path}` });
  const broken = await policyFile(t, 'admins: [root]\nrules:\n  - repositories: ["{usr}/*"]\n    users: ["*"]\n    actions: [pull]\n');
  const error = await t.throwsAsync(openPolicySource({ path: broken }, { logger }), { instanceOf: PolicyError });
  t.is(error?.message, `${broken} line 3: rules[1].repositories: "{usr}/*": unknown placeholder (the only one is {user})`);
});

test('an inline policy is read from the configuration tree, with its lines', async (t) => {
  const inline = parseYamlFile('rules:\n  - {repositories: [x], users: [alice], actions: [push]}\n', '/etc/registry/config.yml') as RawMap;
  const source = await openPolicySource({ inline }, { logger: captureLogger().logger });
  t.is(source.description, 'inline in /etc/registry/config.yml');
  const decision = (await source.current()).decide({ user: 'alice' }, 'push', 'x');
  t.like(decision, { allowed: true, rule: { location: '/etc/registry/config.yml line 2' } });
});

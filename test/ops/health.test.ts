// /healthz and /readyz on the gateway with storage up, down and on a read-only data directory
// (a read-only tmpfs mounted over it: the tests run as root, whom chmod does not stop), with
// and without registry:2's health.storagedriver checks.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';
import { send } from '../helpers/storage-http.js';
import { startStack, type Stack, type StackOptions } from '../gateway/helpers/stack.js';
import { basicAuth } from '../helpers/registry-process.js';

const run = promisify(execFile);
const USERS = { alice: 'alice-password' };
const auth = { authorization: basicAuth('alice', 'alice-password') };

async function stack(t: ExecutionContext, options: StackOptions = {}): Promise<Stack> {
  const started = await startStack({ users: USERS, ...options });
  t.teardown(() => started.close());
  return started;
}

/** A read-only tmpfs over storage's data directory until the teardown. */
async function mountReadOnly(t: ExecutionContext, dir: string): Promise<() => Promise<void>> {
  await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
  let mounted = true;
  const unmount = async () => {
    if (!mounted) return;
    mounted = false;
    await run('umount', [dir]);
  };
  t.teardown(unmount);
  return unmount;
}

test('/healthz and /readyz answer 200 without credentials while storage is up, and are logged at debug only', async (t) => {
  const s = await stack(t);
  const health = await send(s.gatewayUrl, '/healthz');
  t.is(health.status, 200);
  t.deepEqual(health.json(), { status: 'ok' });
  const ready = await send(s.gatewayUrl, '/readyz');
  t.is(ready.status, 200);
  t.deepEqual(ready.json(), { status: 'ok', storage: { status: 'ok', checks: { driver: 'ok', writable: 'ok' } } });
  t.is((await send(s.gatewayUrl, '/v2/')).status, 401, 'the API still wants credentials');
  const probeLines = s.gatewayLogs.lines().filter((line) => line.msg === 'request' && (line.path === '/healthz' || line.path === '/readyz'));
  t.is(probeLines.length, 2);
  t.true(probeLines.every((line) => line.level === 20), 'probe requests are logged at debug');
  t.is((await send(s.gatewayUrl, '/readyz', { method: 'POST' })).status, 404);
});

test('/readyz is 503 while storage is down and /healthz stays 200', async (t) => {
  const s = await stack(t);
  await s.storage.close();
  const ready = await send(s.gatewayUrl, '/readyz');
  t.is(ready.status, 503);
  t.deepEqual(ready.json(), { status: 'unavailable', storage: { status: 'unreachable', error: 'ECONNREFUSED' } });
  t.false(ready.text.includes('127.0.0.1'), 'the storage address is not told to anonymous callers');
  t.is((await send(s.gatewayUrl, '/healthz')).status, 200);
});

test('/readyz is 503 while the data directory is read-only, and 200 again once it is writable', async (t) => {
  const s = await stack(t);
  const unmount = await mountReadOnly(t, join(s.dir, 'data'));
  // Checks are cached for a second: the next one sees the mount.
  await waitFor(async () => (await send(s.gatewayUrl, '/readyz')).status === 503, 10_000);
  const ready = await send(s.gatewayUrl, '/readyz');
  t.deepEqual(ready.json(), { status: 'unavailable', storage: { status: 'unavailable', checks: { driver: 'ok', writable: 'failed: EROFS' } } });
  await unmount();
  await waitFor(async () => (await send(s.gatewayUrl, '/readyz')).status === 200, 10_000);
  t.pass();
});

test('health.storagedriver: after threshold failed checks every request is 503, as registry:2, until a check passes', async (t) => {
  const s = await stack(t, { config: { health: { storagedriver: { enabled: true, intervalMs: 200, threshold: 3 } } } });
  t.is((await send(s.gatewayUrl, '/v2/', { headers: auth })).status, 200);
  const unmount = await mountReadOnly(t, join(s.dir, 'data'));
  await waitFor(async () => (await send(s.gatewayUrl, '/v2/', { headers: auth })).status === 503, 15_000);
  const refused = await send(s.gatewayUrl, '/v2/', { headers: auth });
  t.is(refused.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'UNAVAILABLE');
  t.is((await send(s.gatewayUrl, '/readyz')).status, 503);
  t.is((await send(s.gatewayUrl, '/healthz')).status, 200);
  t.true(s.gatewayLogs.lines().some((line) => line.msg === 'health: storage check failed; answering 503 until it passes'));
  await unmount();
  await waitFor(async () => (await send(s.gatewayUrl, '/v2/', { headers: auth })).status === 200, 15_000);
  t.is((await send(s.gatewayUrl, '/readyz')).status, 200);
});

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { collect, spawnCli } from './run-cli.js';

// `registry start` needs both services; they are built by others and may not exist yet.
const servicesBuilt = ['../../storage/main.js', '../../gateway/main.js'].every((p) => existsSync(fileURLToPath(new URL(p, import.meta.url))));
const startTest = servicesBuilt ? test.serial : test.skip;

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}



startTest('registry start runs storage and gateway, answers /v2/ and stops cleanly on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-cli-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [httpPort, storagePort] = [await freePort(), await freePort()];
  const child = spawnCli(['start'], {
    cwd: dir,
    env: {
      REGISTRY_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      REGISTRY_STORAGESERVICE_ADDR: `127.0.0.1:${storagePort}`,
      REGISTRY_TEST_SILENT_LOGS: '1',
    },
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = collect(child, 60_000);
  let stderr = '';
  child.stderr?.on('data', (d: string) => (stderr += d));

  t.true(await waitFor(() => stderr.includes('registry listening on'), 30_000).then(() => true, () => false), stderr);
  t.is(
    stderr.trim(),
    `registry listening on http://127.0.0.1:${httpPort} (storage on 127.0.0.1:${storagePort}, data in ${join(dir, 'data')}, auth: none)`,
  );
  t.is(await get(httpPort, '/v2/'), 200);
  // Storage answers only the gateway (it holds the token made for this run).
  t.is(await get(storagePort, '/v2/'), 403);
  t.true(existsSync(join(dir, 'data')));

  child.kill('SIGTERM');
  const result = await done;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /registry: stopped\n$/);
  // Both children are gone: nothing listens any more.
  await t.throwsAsync(get(httpPort, '/v2/'), { code: 'ECONNREFUSED' });
  await t.throwsAsync(get(storagePort, '/v2/'), { code: 'ECONNREFUSED' });
});

startTest('registry start stops storage and fails when the gateway cannot start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-cli-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Something that holds the gateway's port and never answers.
  const blocker: Server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const address = blocker.address();
  const httpPort = typeof address === 'object' && address ? address.port : 0;
  const storagePort = await freePort();

  const result = await collect(
    spawnCli(['start'], {
      cwd: dir,
      env: {
        REGISTRY_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        REGISTRY_STORAGESERVICE_ADDR: `127.0.0.1:${storagePort}`,
        REGISTRY_TEST_SILENT_LOGS: '1',
      },
    }),
    60_000,
  );
  t.is(result.code, 1);
  t.regex(result.stderr, /registry: gateway exited unexpectedly \(exit code 1\); stopping storage/);
  t.false(result.stderr.includes('registry listening on'));
  await t.throwsAsync(get(storagePort, '/v2/'), { code: 'ECONNREFUSED' });
});

startTest('registry start refuses the same address for storage and gateway', async (t) => {
  const port = await freePort();
  const result = await collect(
    spawnCli(['start'], { env: { REGISTRY_HTTP_ADDR: `:${port}`, REGISTRY_STORAGESERVICE_ADDR: `127.0.0.1:${port}` } }),
    30_000,
  );
  t.is(result.code, 1);
  t.regex(result.stderr, /storageservice\.addr \(127\.0\.0\.1:\d+\) and the gateway's address .* are the same/);
});

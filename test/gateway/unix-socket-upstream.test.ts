// Storage on a unix socket (the compose set-up) behind the gateway, as separate processes. skopeo
// sends `Connection: close` on every request; forwarded to storage, it made storage close the
// pooled socket right after answering while the gateway still wrote the request's end, and over
// a unix socket that write fails (EPIPE) before the answer is read: 502 for accepted uploads.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { collect, spawnCli } from '../cli/run-cli.js';
import { freePort } from '../helpers/net.js';

interface Answer {
  status: number;
  location?: string;
  connection?: string;
}

test('many small uploads with Connection: close over a unix-socket storage: every one succeeds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-unix-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const child = spawnCli(['start'], {
    cwd: dir,
    env: { REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`, REGISTRY_STORAGESERVICE_ADDR: `unix:${join(dir, 'run', 'storage.sock')}`, REGISTRY_LOG_LEVEL: 'error' },
  });
  const done = collect(child, 180_000);
  t.teardown(async () => {
    child.kill('SIGTERM');
    await done.catch(() => undefined);
  });
  let stderr = '';
  child.stderr?.on('data', (d: string) => (stderr += d));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes('registry listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  // Connection: close on every request, as skopeo does; a pool so several run at once.
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  t.teardown(() => agent.destroy());
  const send = (method: string, path: string, body?: Buffer): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { connection: 'close', 'content-length': body?.length ?? 0 };
      const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const failures: string[] = [];
  const push = async (i: number): Promise<void> => {
    const body = Buffer.from(`small blob ${i} `.repeat(1 + (i % 12)));
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const opened = await send('POST', `/v2/unix/app${i % 5}/blobs/uploads/`);
    if (opened.status !== 202) return void failures.push(`POST ${opened.status}`);
    t.is(opened.connection, 'close', "the client's own Connection header is honoured");
    const upload = new URL(opened.location!, 'http://registry');
    const patched = await send('PATCH', `${upload.pathname}${upload.search}`, body);
    if (patched.status !== 202) return void failures.push(`PATCH ${patched.status}`);
    const url = new URL(patched.location!, 'http://registry');
    url.searchParams.set('digest', digest);
    const put = await send('PUT', `${url.pathname}${url.search}`);
    if (put.status !== 201) failures.push(`PUT ${put.status}`);
  };
  let next = 0;
  const total = 400;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < total) await push(next++).catch((err: Error) => failures.push(err.message));
    }),
  );
  t.deepEqual(failures, [], `${failures.length} of ${total} uploads failed`);
  t.false(stderr.includes('EPIPE'));
});

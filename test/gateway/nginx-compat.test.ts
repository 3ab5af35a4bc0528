// Debian's nginx with nginx-compat/registry.conf in front of the gateway and the real storage:
// the user's setup from the how-to. Data goes through all three, by hand and with skopeo.
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from './helpers/http-client.js';
import { startNginx, type RunningNginx } from './helpers/nginx.js';
import { buildOciLayout } from '../helpers/oci-image.js';
import { sha256 } from '../helpers/digest.js';
import { basicAuth, RegistryClient } from '../helpers/storage-http.js';
import { startStack, type Stack } from './helpers/stack.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const alice = { user: 'alice', password: 's3cret' };
let stack: Stack;
let nginx: RunningNginx;

test.before(async () => {
  // nginx connects to the gateway from 127.0.0.1: that is the trusted proxy.
  stack = await startStack({ users: { alice: alice.password }, config: { http: { trustedproxies: ['127.0.0.1'] } } });
  nginx = await startNginx(Number(new URL(stack.gatewayUrl).port));
});
test.after.always(async () => {
  await nginx?.stop();
  await stack?.close();
});

test('through nginx, an anonymous request gets registry:2\'s 401 challenge', async (t) => {
  const res = await request(`${nginx.url}/v2/`);
  t.is(res.status, 401);
  t.is(res.headers['www-authenticate'], 'Basic realm="basic-realm"');
  t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
  t.deepEqual(JSON.parse(res.text), { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] });
});

test('a 32 MiB blob goes up and comes back through nginx; Locations carry the name the client used', async (t) => {
  const data = randomBytes(32 * MiB);
  const host = `docker-registry.home:${nginx.port}`;
  // Chunked, like docker's PATCH: nginx must stream it on (proxy_request_buffering off, HTTP/1.1).
  const client = new RegistryClient(nginx.url, { ...basicAuth(alice.user, alice.password), host }, { localAddress: '127.0.0.5' });
  const pushed = await client.uploadBlob('probe/nginx', data, { chunked: true });
  for (const location of pushed.locations) t.true(location.startsWith(`http://${host}/v2/probe/nginx/blobs/`), location);
  const pulled = await client.getBlob('probe/nginx', pushed.digest);
  t.is(pulled.status, 200);
  t.is(sha256(pulled.body), pushed.digest);
  t.true(pulled.body.equals(data));

  // The gateway saw the real client behind nginx, and nginx's request id.
  const lines = stack.gatewayLogs.lines().filter((l) => l.msg === 'request' && l.path === `/v2/probe/nginx/blobs/${pushed.digest}`);
  t.true(lines.length > 0);
  t.like(lines.at(-1), { client: '127.0.0.5', user: 'alice', status: 200 });
  t.regex(String(lines.at(-1)!.requestId), /^[0-9a-f]{32}$/);
});

test('eight concurrent pushes through nginx all land', async (t) => {
  const blobs = Array.from({ length: 8 }, () => randomBytes(3 * MiB));
  const client = new RegistryClient(nginx.url, basicAuth(alice.user, alice.password));
  const pushed = await Promise.all(blobs.map((data) => client.uploadBlob('probe/nginx-parallel', data)));
  t.deepEqual(pushed.map((p) => p.digest), blobs.map(sha256));
  const pulled = await Promise.all(pushed.map((p) => client.getBlob('probe/nginx-parallel', p.digest)));
  t.deepEqual(pulled.map((r) => sha256(r.body)), blobs.map(sha256));
});

test('skopeo copies an image into the registry through nginx and back out unchanged', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'skopeo-nginx-'));
  try {
    const layoutDir = join(work, 'oci');
    const image = await buildOciLayout(layoutDir, 'v1', { files: { 'hello.txt': 'through nginx\n' }, bigLayerMiB: 4 });
    const authFile = join(work, 'auth.json');
    await writeFile(authFile, '{}');
    const env = { ...process.env, REGISTRY_AUTH_FILE: authFile };
    const ref = `docker://127.0.0.1:${nginx.port}/probe/skopeo:v1`;
    const skopeo = (args: string[]) => run('skopeo', args, { env, timeout: 120_000, maxBuffer: 16 * MiB });

    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${layoutDir}:v1`, ref]);

    const { stdout: raw } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', 'alice:s3cret', ref]);
    t.is(sha256(Buffer.from(raw)), image.manifest.digest, 'the manifest is stored byte for byte');

    const { stdout: tags } = await skopeo(['list-tags', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://127.0.0.1:${nginx.port}/probe/skopeo`]);
    t.deepEqual(JSON.parse(tags).Tags, ['v1']);

    await skopeo(['copy', '--src-tls-verify=false', '--src-creds', 'alice:s3cret', ref, `oci:${join(work, 'pulled')}:v1`]);
    for (const { digest } of image.layers) {
      const layer = (dir: string) => readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      t.true((await layer(join(work, 'pulled'))).equals(await layer(layoutDir)));
    }

    // Without credentials skopeo is refused with registry:2's words.
    const refused = await t.throwsAsync(skopeo(['inspect', '--raw', '--tls-verify=false', ref]));
    t.regex(String((refused as { stderr?: string }).stderr), /unauthorized|authentication required/i);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('password guessing through nginx is throttled even when the client sends its own Forwarded each time', async (t) => {
  // Issue 7: nginx passed the client's Forwarded on and the gateway preferred it over the
  // X-Forwarded-For nginx wrote, so a new `for=` per request was never throttled.
  const client = '127.0.0.6';
  const statuses: number[] = [];
  for (let i = 1; i <= 12; i++) {
    const res = await request(`${nginx.url}/v2/`, {
      basicAuth: { user: 'alice', password: `guess ${i}` },
      localAddress: client,
      headers: { forwarded: `for=198.51.100.${i};proto=https;host=evil.example` },
    });
    statuses.push(res.status);
  }
  t.deepEqual(statuses.slice(0, 10), Array<number>(10).fill(401));
  t.deepEqual(statuses.slice(10), [429, 429], statuses.join(' '));
  // The access log names the real client, not an address the client chose.
  const lines = stack.gatewayLogs.lines().filter((l) => l.msg === 'request' && l.path === '/v2/' && l.status === 429);
  t.true(lines.length >= 2);
  for (const line of lines) t.is(line.client, client);
});

test('a Location through nginx never carries a host the client put in X-Forwarded-Host or Forwarded', async (t) => {
  const host = `docker-registry.home:${nginx.port}`;
  const spoofs: Array<Record<string, string>> = [{ 'x-forwarded-host': 'evil.example' }, { forwarded: 'for=127.0.0.7;host=evil.example;proto=https' }];
  for (const spoof of spoofs) {
    const res = await request(`${nginx.url}/v2/probe/nginx-host/blobs/uploads/`, {
      method: 'POST',
      basicAuth: alice,
      localAddress: '127.0.0.7',
      headers: { host, 'content-length': '0', ...spoof },
    });
    t.is(res.status, 202);
    t.true(String(res.headers.location).startsWith(`http://${host}/v2/probe/nginx-host/blobs/uploads/`), String(res.headers.location));
  }
});

test('registry.conf passes on none of the forwarded headers a client sent (only its own)', async (t) => {
  // nginx with the same site in front of a server that records what arrives.
  const seen: http.IncomingHttpHeaders[] = [];
  const echo = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const front = await startNginx((echo.address() as AddressInfo).port);
  try {
    const res = await request(`${front.url}/v2/`, {
      localAddress: '127.0.0.8',
      headers: {
        forwarded: 'for=192.0.2.1;host=evil.example;proto=https',
        'x-forwarded-for': '192.0.2.2',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-real-ip': '192.0.2.3',
        'x-request-id': 'client-chosen',
      },
    });
    t.is(res.status, 200);
    const headers = seen.at(-1)!;
    t.is(headers.forwarded, undefined);
    t.is(headers['x-forwarded-host'], undefined);
    t.is(headers['x-real-ip'], '127.0.0.8');
    t.is(headers['x-forwarded-proto'], 'http');
    t.not(headers['x-request-id'], 'client-chosen');
    // $proxy_add_x_forwarded_for appends: the gateway reads it from the right.
    t.is(headers['x-forwarded-for'], '192.0.2.2, 127.0.0.8');
  } finally {
    await front.stop();
    await new Promise((resolve) => echo.close(resolve));
  }
});

// Debian's nginx with nginx-compat/registry.conf in front of the gateway and the real storage:
// the user's setup from the how-to. Data goes through all three, by hand and with skopeo.
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from './helpers/http-client.js';
import { startNginx, type RunningNginx } from './helpers/nginx.js';
import { buildOciLayout } from '../helpers/oci-image.js';
import { getBlob, pushBlob, sha256Digest } from './helpers/registry-client.js';
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
  const client = { basicAuth: alice, headers: { host }, localAddress: '127.0.0.5', chunked: true };
  const pushed = await pushBlob(nginx.url, 'probe/nginx', data, client);
  for (const location of pushed.locations) t.true(location.startsWith(`http://${host}/v2/probe/nginx/blobs/`), location);
  const pulled = await getBlob(nginx.url, 'probe/nginx', pushed.digest, client);
  t.is(pulled.status, 200);
  t.is(sha256Digest(pulled.body), pushed.digest);
  t.true(pulled.body.equals(data));

  // The gateway saw the real client behind nginx, and nginx's request id.
  const lines = stack.gatewayLogs.lines().filter((l) => l.msg === 'request' && l.path === `/v2/probe/nginx/blobs/${pushed.digest}`);
  t.true(lines.length > 0);
  t.like(lines.at(-1), { client: '127.0.0.5', user: 'alice', status: 200 });
  t.regex(String(lines.at(-1)!.requestId), /^[0-9a-f]{32}$/);
});

test('eight concurrent pushes through nginx all land', async (t) => {
  const blobs = Array.from({ length: 8 }, () => randomBytes(3 * MiB));
  const pushed = await Promise.all(blobs.map((data) => pushBlob(nginx.url, 'probe/nginx-parallel', data, { basicAuth: alice })));
  t.deepEqual(pushed.map((p) => p.digest), blobs.map(sha256Digest));
  const pulled = await Promise.all(pushed.map((p) => getBlob(nginx.url, 'probe/nginx-parallel', p.digest, { basicAuth: alice })));
  t.deepEqual(pulled.map((r) => sha256Digest(r.body)), blobs.map(sha256Digest));
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
    t.is(sha256Digest(Buffer.from(raw)), image.manifest.digest, 'the manifest is stored byte for byte');

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

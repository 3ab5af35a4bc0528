// skopeo straight at the gateway's plain-HTTP port, as in the lab setup without nginx. With an
// explicit port skopeo first sends a TLS ClientHello there, then falls back to plain HTTP: the
// gateway must answer that with a 400, not hang or crash.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildOciLayout } from '../helpers/oci-image.js';
import { sha256 } from '../helpers/digest.js';
import { startStack } from './helpers/stack.js';

const run = promisify(execFile);

test('skopeo pushes and pulls an image directly through the gateway', async (t) => {
  const stack = await startStack({ users: { alice: 's3cret' } });
  const work = await mkdtemp(join(tmpdir(), 'skopeo-direct-'));
  try {
    const layoutDir = join(work, 'oci');
    const image = await buildOciLayout(layoutDir, 'v1', { files: { 'hello.txt': 'direct\n' } });
    const authFile = join(work, 'auth.json');
    await writeFile(authFile, '{}');
    const env = { ...process.env, REGISTRY_AUTH_FILE: authFile };
    const skopeo = (args: string[]) => run('skopeo', args, { env, timeout: 120_000 });
    const host = new URL(stack.gatewayUrl).host;

    await skopeo(['login', '--tls-verify=false', '-u', 'alice', '-p', 's3cret', host]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${layoutDir}:v1`, `docker://${host}/probe/direct:v1`]);
    const { stdout: raw } = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/probe/direct:v1`]);
    t.is(sha256(Buffer.from(raw)), image.manifest.digest);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/probe/direct:v1`, `oci:${join(work, 'pulled')}:v1`]);
    for (const { digest } of image.layers) {
      const layer = (dir: string) => readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      t.true((await layer(join(work, 'pulled'))).equals(await layer(layoutDir)));
    }
    const hellos = stack.gatewayLogs.lines().filter((l) => l.tlsHandshake === true).length;
    t.true(hellos > 0, 'skopeo tried TLS on the plain port first and fell back after the 400');
    // The credentials skopeo stored never show up in the gateway's log.
    t.false(stack.gatewayLogs.raw().includes('s3cret'));
    t.true(stack.gatewayLogs.lines().some((l) => l.msg === 'request' && l.user === 'alice' && l.userAgent !== undefined));
  } finally {
    await rm(work, { recursive: true, force: true });
    await stack.close();
  }
});

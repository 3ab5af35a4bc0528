// buildah against the registry, directly and through nginx: a wrong password, login, an image
// built by buildah itself (from scratch + copy + commit, or `buildah bud` of a Containerfile),
// push, pull of a fresh copy (digest and files), and a refused push without credentials.
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registryApi } from './helpers/registry-api.js';
import { runFails, runOk } from './helpers/run.js';
import { useE2eWorld, type Endpoint } from './helpers/world.js';

let buildahArgs: string[];
let authFile: string;
let emptyAuthFile: string;
let context: string;

const TIMEOUT = { timeoutMs: 120_000 };

const world = useE2eWorld('buildah', async (w) => {
  const root = join(w.dir, 'buildah');
  buildahArgs = ['--root', join(root, 'root'), '--runroot', join(root, 'runroot'), '--storage-driver', 'vfs'];
  authFile = join(w.dir, 'buildah-auth.json');
  emptyAuthFile = join(w.dir, 'empty-auth.json');
  // `buildah from` fails when REGISTRY_AUTH_FILE names a file that does not exist (README section 6).
  await writeFile(authFile, '{}');
  await writeFile(emptyAuthFile, '{}');
  context = join(w.dir, 'context');
  await mkdir(context, { recursive: true });
});

function buildah(args: string[], input?: string): Promise<string> {
  return runOk('buildah', [...buildahArgs, ...args], { ...TIMEOUT, input, env: { REGISTRY_AUTH_FILE: authFile } });
}

/** Builds `ref` holding /hello.txt with `text`, the way the label says; returns nothing, buildah stores it. */
async function buildImage(label: 'direct' | 'nginx', ref: string, text: string): Promise<void> {
  await writeFile(join(context, 'hello.txt'), text);
  if (label === 'direct') {
    const container = (await buildah(['from', 'scratch'])).trim();
    await buildah(['copy', container, join(context, 'hello.txt'), '/hello.txt']);
    await buildah(['config', '--cmd', '["/hello"]', '--label', 'e2e=1', container]);
    await buildah(['commit', '-q', container, ref]);
    await buildah(['rm', container]);
  } else {
    await writeFile(join(context, 'Containerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    await buildah(['bud', '-q', '--layers=false', '-t', ref, '-f', join(context, 'Containerfile'), context], undefined);
  }
}

/** The files of a stored image, read through a working container's mount point. */
async function fileOfImage(ref: string, path: string): Promise<Buffer> {
  const container = (await buildah(['from', '--pull-never', ref])).trim();
  try {
    const mountPoint = (await buildah(['mount', container])).trim();
    return await readFile(join(mountPoint, path));
  } finally {
    await buildah(['rm', container]);
  }
}

for (const label of ['direct', 'nginx'] as const) {
  const endpoint = (): Endpoint => world().endpoint(label);
  const repo = `e2e/buildah-${label}`;

  test.serial(`buildah login refuses a wrong password (${label})`, async (t) => {
    const output = await runFails(
      'buildah',
      [...buildahArgs, 'login', '--tls-verify=false', '-u', world().registry.user, '--password-stdin', endpoint().host],
      { ...TIMEOUT, input: 'not-the-password', env: { REGISTRY_AUTH_FILE: authFile } },
    );
    t.regex(output, /invalid username\/password|unauthorized/i);
  });

  test.serial(`buildah build, login, push, pull: same digest and files (${label})`, async (t) => {
    const { host } = endpoint();
    const local = `localhost/e2e/buildah-${label}:v1`;
    const text = `built by buildah (${label})\n`;
    await buildImage(label, local, text);
    await buildah(['login', '--tls-verify=false', '-u', world().registry.user, '--password-stdin', host], world().registry.password);
    const digestFile = join(world().dir, `buildah-${label}.digest`);
    await buildah(['push', '--tls-verify=false', '--digestfile', digestFile, local, `docker://${host}/${repo}:v1`]);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    t.regex(digest, /^sha256:[a-f0-9]{64}$/);
    t.is(await registryApi(endpoint(), world().registry).manifestDigest(repo, 'v1'), digest, 'the registry serves what buildah pushed');

    await buildah(['rmi', '--all', '--force']);
    await buildah(['pull', '--tls-verify=false', `${host}/${repo}:v1`]);
    const digests = await buildah(['images', '--digests', '--format', '{{.Digest}}', `${host}/${repo}:v1`]);
    t.deepEqual(digests.split('\n').filter(Boolean), [digest]);
    t.is((await fileOfImage(`${host}/${repo}:v1`, 'hello.txt')).toString(), text);
  });

  test.serial(`buildah push without credentials is refused (${label})`, async (t) => {
    const { host } = endpoint();
    const output = await runFails(
      'buildah',
      [...buildahArgs, 'push', '--tls-verify=false', '--authfile', emptyAuthFile, `${host}/${repo}:v1`, `docker://${host}/${repo}:anonymous`],
      { ...TIMEOUT, env: { REGISTRY_AUTH_FILE: emptyAuthFile } },
    );
    t.regex(output, /unauthorized|authentication required/i);
    t.is(await registryApi(endpoint(), world().registry).manifestDigest(repo, 'anonymous'), undefined);
  });
}

// podman against the registry, directly and through nginx: a wrong password, login, push of an
// image taken from an OCI layout, pull of a fresh copy (digest and files), tag and catalog
// listing, and a refused push without credentials.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOciLayout, type BuiltImage } from '../helpers/oci-image.js';
import { registryApi } from './helpers/registry-api.js';
import { runFails, runOk } from './helpers/run.js';
import { useE2eWorld, type Endpoint } from './helpers/world.js';

let podmanArgs: string[];
let authFile: string;
let emptyAuthFile: string;
let layout: { dir: string; image: BuiltImage };

const TIMEOUT = { timeoutMs: 120_000 };

const world = useE2eWorld('podman', async (w) => {
  const root = join(w.dir, 'podman');
  // All of podman's state under the test directory (README section 5), vfs: no mounts to leak.
  podmanArgs = [
    '--root', join(root, 'root'),
    '--runroot', join(root, 'runroot'),
    '--tmpdir', join(root, 'tmp'),
    '--storage-driver', 'vfs',
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
  ];
  authFile = join(w.dir, 'podman-auth.json');
  emptyAuthFile = join(w.dir, 'empty-auth.json');
  await writeFile(authFile, '{}');
  await writeFile(emptyAuthFile, '{}');
  const dir = join(w.dir, 'oci');
  layout = { dir, image: await buildOciLayout(dir, 'v1', { files: { 'hello.txt': 'hello from podman\n', 'etc/motd': 'e2e podman\n' } }) };
});

function podman(args: string[], input?: string): Promise<string> {
  return runOk('podman', [...podmanArgs, ...args], { ...TIMEOUT, input, env: { REGISTRY_AUTH_FILE: authFile } });
}

function podmanFails(args: string[], input?: string): Promise<string> {
  return runFails('podman', [...podmanArgs, ...args], { ...TIMEOUT, input, env: { REGISTRY_AUTH_FILE: authFile } });
}

for (const label of ['direct', 'nginx'] as const) {
  const endpoint = (): Endpoint => world().endpoint(label);
  const repo = `e2e/podman-${label}`;

  test.serial(`podman login refuses a wrong password (${label})`, async (t) => {
    const output = await podmanFails(
      ['login', '--tls-verify=false', '-u', world().registry.user, '--password-stdin', endpoint().host],
      'not-the-password',
    );
    t.regex(output, /invalid username\/password|unauthorized/i);
  });

  test.serial(`podman login, push, pull: same digest and files (${label})`, async (t) => {
    const { host } = endpoint();
    const ref = `${host}/${repo}:v1`;
    await podman(['login', '--tls-verify=false', '-u', world().registry.user, '--password-stdin', host], world().registry.password);
    const imageId = (await podman(['pull', '-q', `oci:${layout.dir}:v1`])).trim();
    await podman(['tag', imageId, ref]);
    const digestFile = join(world().dir, `podman-${label}.digest`);
    await podman(['push', '--tls-verify=false', '--digestfile', digestFile, ref]);
    const digest = (await readFile(digestFile, 'utf8')).trim();
    t.regex(digest, /^sha256:[a-f0-9]{64}$/);
    t.is(await registryApi(endpoint(), world().registry).manifestDigest(repo, 'v1'), digest, 'the registry serves what podman pushed');

    await podman(['rmi', '--all', '--force']);
    await podman(['pull', '--tls-verify=false', ref]);
    t.is((await podman(['image', 'inspect', '--format', '{{.Digest}}', ref])).trim(), digest);
    const mountPoint = (await podman(['image', 'mount', ref])).trim();
    try {
      for (const [path, content] of layout.image.files) {
        t.deepEqual(await readFile(join(mountPoint, path)), content, `${path} came back unchanged`);
      }
    } finally {
      await podman(['image', 'unmount', ref]);
    }
  });

  test.serial(`podman lists tags and the catalog (${label})`, async (t) => {
    const { host } = endpoint();
    // A table: NAME TAG, one line per tag (podman 4.3 ignores --format with --list-tags).
    const table = await podman(['search', '--tls-verify=false', '--list-tags', `${host}/${repo}`]);
    const rows = table.split('\n').slice(1).filter(Boolean).map((line) => line.trim().split(/\s+/));
    t.deepEqual(rows, [[`${host}/${repo}`, 'v1']]);
    const catalog = await podman(['search', '--tls-verify=false', '--format', '{{.Name}}', `${host}/`]);
    t.true(catalog.split('\n').includes(`${host}/${repo}`), catalog);
  });

  test.serial(`podman push without credentials is refused (${label})`, async (t) => {
    const { host } = endpoint();
    const ref = `${host}/${repo}:anonymous`;
    await podman(['tag', `${host}/${repo}:v1`, ref]);
    const output = await runFails('podman', [...podmanArgs, 'push', '--tls-verify=false', '--authfile', emptyAuthFile, ref], TIMEOUT);
    t.regex(output, /unauthorized|authentication required/i);
    t.is(await registryApi(endpoint(), world().registry).manifestDigest(repo, 'anonymous'), undefined);
  });
}

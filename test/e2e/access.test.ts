// The access policy with real clients (issue 9): alice pushes alice/app with docker; bob's docker
// push to it fails with "denied", and bob cannot pull it; a pull-only user pulls it with skopeo
// (also through a Kubernetes .dockerconfigjson) and cannot push; an image under public/ pulls
// without any credentials (skopeo); bob's catalog does not list alice/app.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciLayout, rootfsTar, type BuiltImage } from '../helpers/oci-image.js';
import { startDockerd, type DockerEngine } from './helpers/dockerd.js';
import { registerSecret, runFails, runOk, sleep } from './helpers/run.js';
import { useE2eWorld } from './helpers/world.js';

const POLICY = `admins: [root]
rules:
  - repositories: ["{user}/**"]
    users: ["*"]
    actions: [pull, push, delete]
  - repositories: ["**"]
    users: [puller]
    actions: [pull]
  - repositories: ["public/**"]
    anonymous: true
    actions: [pull]
`;
const USERS = ['alice', 'bob', 'puller', 'root'] as const;
type User = (typeof USERS)[number];
const password = (user: User) => `${user}-e2e-pw`;

// The policy must exist before the registry starts (REGISTRY_ACCESS_PATH).
const policyDir = mkdtempSync(join(tmpdir(), 'e2e-access-policy-'));
const policyPath = join(policyDir, 'access.yml');
writeFileSync(policyPath, POLICY);
test.after.always(() => rmSync(policyDir, { recursive: true, force: true }));

let engine: DockerEngine;
let image: { tarPath: string };
let ociImage: { dir: string; image: BuiltImage };
const dockerConfig = {} as Record<User | 'nobody', string>;
const TIMEOUT = { timeoutMs: 180_000 };

const world = useE2eWorld(
  'access',
  async (w) => {
    for (const user of USERS) {
      registerSecret(password(user));
      await runOk('htpasswd', ['-Bb', w.registry.htpasswdPath, user, password(user)]);
    }
    // The gateway follows the htpasswd file: wait until the new users can log in.
    for (let i = 0; !(await canLogIn(w.direct.url, 'root')); i++) {
      if (i > 100) throw new Error('the new htpasswd users never became valid');
      await sleep(100);
    }
    engine = await startDockerd(join(w.dir, 'docker'));
    w.onStop(() => engine.stop());
    for (const user of [...USERS, 'nobody'] as const) {
      dockerConfig[user] = join(w.dir, `docker-config-${user}`);
      await mkdir(dockerConfig[user], { recursive: true });
    }
    const rootfs = rootfsTar({ files: { 'hello.txt': 'hello from the access e2e\n' } });
    image = { tarPath: join(w.dir, 'rootfs.tar') };
    await writeFile(image.tarPath, rootfs.tar);
    const dir = join(w.dir, 'oci');
    ociImage = { dir, image: await buildOciLayout(dir, 'v1', { files: { 'public.txt': 'public\n' } }) };
  },
  { registryEnv: { REGISTRY_ACCESS_PATH: policyPath } },
);

async function canLogIn(url: string, user: User): Promise<boolean> {
  const res = await fetch(`${url}/v2/`, { headers: { authorization: basic(user) } });
  return res.status === 200;
}

function basic(user: User): string {
  return `Basic ${Buffer.from(`${user}:${password(user)}`).toString('base64')}`;
}

function dockerAs(user: User | 'nobody') {
  return engine.withConfig(dockerConfig[user]);
}

async function dockerLogin(user: User): Promise<void> {
  await dockerAs(user).docker(['login', '-u', user, '--password-stdin', world().direct.host], { input: password(user) });
}

/** A skopeo auth file for `user` in the format of a Kubernetes docker-registry secret. */
async function authFile(user: User | 'nobody'): Promise<string> {
  const path = join(world().dir, `auth-${user}.json`);
  const host = world().direct.host;
  const auths =
    user === 'nobody' ? {} : { [host]: { username: user, password: password(user), auth: Buffer.from(`${user}:${password(user)}`).toString('base64') } };
  await writeFile(path, JSON.stringify({ auths }));
  return path;
}

const skopeo = (auth: string, args: string[]) => runOk('skopeo', [args[0]!, '--authfile', auth, ...args.slice(1)], TIMEOUT);
const skopeoFails = (auth: string, args: string[]) => runFails('skopeo', [args[0]!, '--authfile', auth, ...args.slice(1)], TIMEOUT);

test.serial('alice pushes alice/app with docker; bob\'s push fails with "denied" and bob cannot pull', async (t) => {
  const host = world().direct.host;
  const ref = `${host}/alice/app:v1`;
  await dockerLogin('alice');
  await dockerAs('alice').docker(['import', image.tarPath, ref], TIMEOUT);
  const pushed = await dockerAs('alice').docker(['push', ref], TIMEOUT);
  t.regex(pushed, /v1: digest: sha256:[a-f0-9]{64}/);

  await dockerLogin('bob');
  const push = await dockerAs('bob').dockerFails(['push', ref], TIMEOUT);
  t.regex(push, /denied: requested access to the resource is denied/);
  await dockerAs('bob').docker(['rmi', ref]);
  const pull = await dockerAs('bob').dockerFails(['pull', ref], TIMEOUT);
  t.regex(pull, /denied/);
});

test.serial('a pull-only user pulls alice/app with skopeo (also from a .dockerconfigjson) and cannot push', async (t) => {
  const host = world().direct.host;
  const auth = await authFile('puller');
  const pulled = join(world().dir, 'pulled-by-puller');
  await skopeo(auth, ['copy', '--src-tls-verify=false', `docker://${host}/alice/app:v1`, `oci:${pulled}:v1`]);
  const push = await skopeoFails(auth, ['copy', '--dest-tls-verify=false', `oci:${pulled}:v1`, `docker://${host}/alice/app:by-puller`]);
  t.regex(push, /denied|403/i);
  const bob = await skopeoFails(await authFile('bob'), ['inspect', '--tls-verify=false', `docker://${host}/alice/app:v1`]);
  t.regex(bob, /denied|403/i);
});

test.serial('an image under public/ pulls without any credentials (skopeo); nothing else does', async (t) => {
  const host = world().direct.host;
  await skopeo(await authFile('root'), ['copy', '--dest-tls-verify=false', `oci:${ociImage.dir}:v1`, `docker://${host}/public/base:v1`]);
  const nobody = await authFile('nobody');
  const pulled = join(world().dir, 'pulled-anonymously');
  await skopeo(nobody, ['copy', '--src-tls-verify=false', `docker://${host}/public/base:v1`, `oci:${pulled}:v1`]);
  t.pass();
  const refused = await skopeoFails(nobody, ['inspect', '--tls-verify=false', `docker://${host}/alice/app:v1`]);
  t.regex(refused, /unauthorized|authentication required/i);
});

test.serial("bob's catalog does not list alice/app; alice's and the pull-only user's do", async (t) => {
  const catalog = async (user: User) => {
    const res = await fetch(`${world().direct.url}/v2/_catalog`, { headers: { authorization: basic(user) } });
    return ((await res.json()) as { repositories: string[] }).repositories;
  };
  t.false((await catalog('bob')).includes('alice/app'));
  t.true((await catalog('bob')).includes('public/base'));
  t.true((await catalog('alice')).includes('alice/app'));
  t.true((await catalog('puller')).includes('alice/app'));
});

test.serial('docker without login pulls public/ (token flow); after docker login the same daemon pushes to its namespace', async (t) => {
  const host = world().direct.host;
  await dockerLogin('root');
  await dockerAs('root').docker(['pull', `${host}/alice/app:v1`], TIMEOUT);
  await dockerAs('root').docker(['tag', `${host}/alice/app:v1`, `${host}/public/app:v1`]);
  await dockerAs('root').docker(['push', `${host}/public/app:v1`], TIMEOUT);
  await dockerAs('root').docker(['rmi', `${host}/public/app:v1`, `${host}/alice/app:v1`]);

  const nobody = dockerAs('nobody');
  const pull = await nobody.docker(['pull', `${host}/public/app:v1`], TIMEOUT);
  t.regex(pull, /Digest: sha256:[a-f0-9]{64}/);
  const refused = await nobody.dockerFails(['pull', `${host}/alice/app:v1`], TIMEOUT);
  t.notRegex(refused, /Digest:/);

  // The same daemon and CLI config, now logged in as bob: bob's namespace takes a push, alice's does not.
  await nobody.docker(['login', '-u', 'bob', '--password-stdin', host], { input: password('bob') });
  await nobody.docker(['tag', `${host}/public/app:v1`, `${host}/bob/app:v1`]);
  t.regex(await nobody.docker(['push', `${host}/bob/app:v1`], TIMEOUT), /v1: digest: sha256:/);
  await nobody.docker(['tag', `${host}/public/app:v1`, `${host}/alice/app:by-bob`]);
  t.regex(await nobody.dockerFails(['push', `${host}/alice/app:by-bob`], TIMEOUT), /denied: requested access to the resource is denied/);
});

test.serial('through nginx too: the token realm is the address the client used', async (t) => {
  const host = world().viaNginx.host;
  const fresh = join(world().dir, 'docker-config-nginx-nobody');
  await mkdir(fresh, { recursive: true });
  const nobody = engine.withConfig(fresh);
  t.regex(await nobody.docker(['pull', `${host}/public/app:v1`], TIMEOUT), /Digest: sha256:[a-f0-9]{64}/);
  await nobody.docker(['login', '-u', 'alice', '--password-stdin', host], { input: password('alice') });
  t.regex(await nobody.docker(['pull', `${host}/alice/app:v1`], TIMEOUT), /Digest: sha256:[a-f0-9]{64}/);
});

// Deletes users expect (issue 10), through `registry start` with htpasswd and an access policy,
// with curl and skopeo: DELETE of a tag removes that tag only; DELETE
// /v2/_registry/repositories/<name> removes a repository for its owner and for admins, not for
// others; the repository leaves the catalog.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { buildOciLayout } from '../helpers/oci-image.js';
import { prepareRegistry, RegistryProcess, type RegistrySetup } from '../helpers/registry-process.js';
import { runOk } from '../e2e/helpers/run.js';

const exec = promisify(execFile);
const POLICY = `admins: [root]
rules:
  - repositories: ["{user}/**"]
    users: ["*"]
    actions: [pull, push, delete]
  - repositories: ["**"]
    users: ["*"]
    actions: [pull]
`;

let dir: string;
let setup: RegistrySetup;
let registry: RegistryProcess;
let layout: string;
const passwords = { alice: 'alice-secret-1', bob: 'bob-secret-22', root: 'root-secret-333' };

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'repo-delete-'));
  await writeFile(join(dir, 'policy.yml'), POLICY);
  setup = await prepareRegistry(dir, { REGISTRY_ACCESS_PATH: join(dir, 'policy.yml') });
  for (const [user, password] of Object.entries(passwords)) await exec('htpasswd', ['-Bb', setup.htpasswdPath, user, password]);
  registry = await RegistryProcess.start(setup);
  layout = join(dir, 'layout');
  await buildOciLayout(layout, 'v1', { files: { 'hello.txt': 'delete me\n' }, seed: 'repo-delete' });
});

test.after.always(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const host = () => `127.0.0.1:${setup.httpPort}`;

async function skopeoPush(user: keyof typeof passwords, reference: string): Promise<void> {
  await runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `${user}:${passwords[user]}`, `oci:${layout}:v1`, `docker://${host()}/${reference}`], {
    timeoutMs: 120_000,
  });
}

/** curl's status code and body. */
async function curl(user: keyof typeof passwords, method: string, path: string): Promise<{ status: number; body: string }> {
  const { stdout } = await exec('curl', ['-sS', '-u', `${user}:${passwords[user]}`, '-X', method, '-w', '\n%{http_code}', `http://${host()}${path}`]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

test.serial('DELETE of a tag removes that tag only; the other tags of the same manifest stay', async (t) => {
  await skopeoPush('alice', 'alice/app:v1');
  await skopeoPush('alice', 'alice/app:latest');
  const deleted = await curl('alice', 'DELETE', '/v2/alice/app/manifests/v1');
  t.is(deleted.status, 202, deleted.body);
  const tags = await curl('alice', 'GET', '/v2/alice/app/tags/list');
  t.deepEqual(JSON.parse(tags.body).tags, ['latest']);
  await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds', `alice:${passwords.alice}`, `docker://${host()}/alice/app:latest`]);
});

test.serial('DELETE /v2/_registry/repositories/<name>: the owner and admins may, others may not; the catalog forgets it', async (t) => {
  await skopeoPush('alice', 'alice/tools:v1');
  await skopeoPush('bob', 'bob/site:v1');
  await skopeoPush('bob', 'bob/site:v2');

  const refused = await curl('bob', 'DELETE', '/v2/_registry/repositories/alice/tools');
  t.true(refused.status === 401 || refused.status === 403, `bob may not delete alice's repository (${refused.status})`);
  t.is((await curl('alice', 'GET', '/v2/alice/tools/tags/list')).status, 200);

  const own = await curl('alice', 'DELETE', '/v2/_registry/repositories/alice/tools');
  t.is(own.status, 202, own.body);
  t.deepEqual(JSON.parse(own.body), { repository: 'alice/tools', manifestsDeleted: 1, tagsDeleted: 1 });
  t.is((await curl('alice', 'GET', '/v2/alice/tools/tags/list')).status, 404);

  const admin = await curl('root', 'DELETE', '/v2/_registry/repositories/bob/site');
  t.is(admin.status, 202, admin.body);
  t.is(JSON.parse(admin.body).tagsDeleted, 2);

  const catalog = JSON.parse((await curl('root', 'GET', '/v2/_catalog')).body).repositories as string[];
  t.false(catalog.includes('alice/tools'));
  t.false(catalog.includes('bob/site'));
  t.true(catalog.includes('alice/app'));

  const missing = await curl('root', 'DELETE', '/v2/_registry/repositories/nobody/here');
  t.is(missing.status, 404);
  t.is(JSON.parse(missing.body).errors[0].code, 'NAME_UNKNOWN');
  const invalid = await curl('root', 'DELETE', '/v2/_registry/repositories/UPPER/case');
  t.is(invalid.status, 400);

  // skopeo delete (by digest: the manifest and all its tags) and the repository can be pushed again.
  await skopeoPush('alice', 'alice/tools:v2');
  await runOk('skopeo', ['delete', '--tls-verify=false', '--creds', `alice:${passwords.alice}`, `docker://${host()}/alice/tools:v2`]);
  t.is((await curl('alice', 'GET', '/v2/alice/tools/manifests/v2')).status, 404);
});

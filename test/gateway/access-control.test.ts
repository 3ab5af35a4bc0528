// The access policy enforced by the real gateway in front of the real storage: every action of
// the issue's table, 403 DENIED (same for existing and missing repositories), anonymous pulls,
// mounts from repositories the user may not pull, the filtered and paged catalog, logs, and a
// policy file edited while the gateway runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ACCESS_POLICY as POLICY } from '../helpers/access-policy.js';
import { RegistryClient, sha256, type HttpResponse } from '../helpers/storage-http.js';
import { startStack, type Stack } from './helpers/stack.js';

const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', puller: 'puller-pw', root: 'root-pw', carol: 'carol-pw' } as const;
type User = keyof typeof PASSWORDS;


let stack: Stack;
let policyDir: string;
let policyPath: string;
const clients = {} as Record<User, RegistryClient>;
let anonymous: RegistryClient;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

function basic(user: User): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}` };
}

/** A tiny valid image: config and one layer, then the manifest under `tag`. */
async function pushImage(client: RegistryClient, name: string, tag: string): Promise<{ manifest: string; layer: string }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', name, tag }));
  const layerBytes = Buffer.from(`layer of ${name}:${tag}`);
  const configDigest = await client.pushBlob(name, config);
  const layer = await client.pushBlob(name, layerBytes);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: layerBytes.length }],
  });
  await client.pushManifest(name, tag, manifest, MANIFEST_TYPE);
  return { manifest: sha256(manifest), layer };
}

test.before(async () => {
  policyDir = await mkdtemp(join(tmpdir(), 'access-control-'));
  policyPath = join(policyDir, 'access.yml');
  await writeFile(policyPath, POLICY);
  stack = await startStack({ users: { ...PASSWORDS }, config: { access: { path: policyPath } } });
  for (const user of Object.keys(PASSWORDS) as User[]) clients[user] = new RegistryClient(stack.gatewayUrl, basic(user));
  anonymous = new RegistryClient(stack.gatewayUrl);
  await pushImage(clients.alice, 'alice/app', 'v1');
  await pushImage(clients.root, 'public/base', 'v1');
  await pushImage(clients.bob, 'team/svc', 'v1');
  await pushImage(clients.bob, 'bob/tool', 'v1');
});
test.after.always(async () => {
  await stack?.close();
  await rm(policyDir, { recursive: true, force: true });
});

function assertDenied(t: import('ava').ExecutionContext, res: HttpResponse, name: string, actions: string[], what: string): void {
  t.is(res.status, 403, `${what}: ${res.text}`);
  t.is(res.headers['www-authenticate'], undefined, `${what}: no challenge on a 403`);
  if (res.body.length === 0) return; // HEAD
  t.deepEqual(
    res.json(),
    {
      errors: [
        {
          code: 'DENIED',
          message: 'requested access to the resource is denied',
          detail: actions.map((Action) => ({ Type: 'repository', Class: '', Name: name, Action })),
        },
      ],
    },
    what,
  );
}

test('the owner pushes, pulls, lists tags and deletes in their namespace', async (t) => {
  const alice = clients.alice;
  const { manifest, layer } = await pushImage(alice, 'alice/tmp', 'v1');
  t.is((await alice.getManifest('alice/tmp', 'v1')).status, 200);
  t.is((await alice.getBlob('alice/tmp', layer, {}, 'HEAD')).status, 200);
  t.deepEqual(await alice.tags('alice/tmp'), ['v1']);
  t.is((await alice.send(`/v2/alice/tmp/referrers/${manifest}`)).status, 200);
  t.is((await alice.send(`/v2/alice/tmp/manifests/${manifest}`, { method: 'DELETE' })).status, 202);
  t.is((await alice.send(`/v2/alice/tmp/blobs/${layer}`, { method: 'DELETE' })).status, 202);
});

test('another user gets 403 DENIED for every action, the same for existing and missing repositories', async (t) => {
  const bob = clients.bob;
  const digest = `sha256:${'a'.repeat(64)}`;
  for (const name of ['alice/app', 'alice/does-not-exist']) {
    assertDenied(t, await bob.getManifest(name, 'v1'), name, ['pull'], `GET manifest ${name}`);
    assertDenied(t, await bob.getManifest(name, 'v1', 'HEAD'), name, ['pull'], `HEAD manifest ${name}`);
    assertDenied(t, await bob.getBlob(name, digest), name, ['pull'], `GET blob ${name}`);
    assertDenied(t, await bob.send(`/v2/${name}/tags/list`), name, ['pull'], `tags ${name}`);
    assertDenied(t, await bob.send(`/v2/${name}/referrers/${digest}`), name, ['pull'], `referrers ${name}`);
    assertDenied(t, await bob.send(`/v2/${name}/blobs/uploads/`, { method: 'POST' }), name, ['pull', 'push'], `POST upload ${name}`);
    assertDenied(t, await bob.putManifest(name, 'v2', '{}', MANIFEST_TYPE), name, ['pull', 'push'], `PUT manifest ${name}`);
    assertDenied(t, await bob.send(`/v2/${name}/manifests/${digest}`, { method: 'DELETE' }), name, ['delete'], `DELETE manifest ${name}`);
    assertDenied(t, await bob.send(`/v2/${name}/blobs/${digest}`, { method: 'DELETE' }), name, ['delete'], `DELETE blob ${name}`);
  }
  t.is((await clients.alice.getManifest('alice/app', 'v1')).status, 200, 'still there');
});

test('an upload session of another user\'s repository needs push, whatever the method', async (t) => {
  const location = await clients.alice.startUpload('alice/app');
  for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
    assertDenied(t, await clients.bob.send(location, { method }), 'alice/app', ['pull', 'push'], `${method} upload`);
  }
  t.is((await clients.alice.send(location, { method: 'DELETE' })).status, 204);
});

test('a pull-only user pulls anything and pushes only to their own namespace', async (t) => {
  const puller = clients.puller;
  t.is((await puller.getManifest('alice/app', 'v1')).status, 200);
  t.deepEqual(await puller.tags('team/svc'), ['v1']);
  assertDenied(t, await puller.send('/v2/alice/app/blobs/uploads/', { method: 'POST' }), 'alice/app', ['pull', 'push'], 'push');
  assertDenied(t, await puller.send(`/v2/alice/app/manifests/v1`, { method: 'DELETE' }), 'alice/app', ['delete'], 'delete');
});

test('a group shares a namespace: members pull and push, but may not delete; others may not pull', async (t) => {
  t.deepEqual(await clients.alice.tags('team/svc'), ['v1']);
  await pushImage(clients.alice, 'team/svc', 'v2');
  assertDenied(t, await clients.alice.send('/v2/team/svc/manifests/v2', { method: 'DELETE' }), 'team/svc', ['delete'], 'delete');
  assertDenied(t, await clients.carol.getManifest('team/svc', 'v1'), 'team/svc', ['pull'], 'carol');
});

test('admins may do everything', async (t) => {
  const { manifest } = await pushImage(clients.root, 'alice/by-root', 'v1');
  t.is((await clients.root.getManifest('bob/tool', 'v1')).status, 200);
  t.is((await clients.root.send(`/v2/alice/by-root/manifests/${manifest}`, { method: 'DELETE' })).status, 202);
});

test('without credentials: public repositories pull, everything else gets the (Bearer) challenge', async (t) => {
  const manifest = await anonymous.getManifest('public/base', 'v1');
  t.is(manifest.status, 200);
  t.deepEqual(await anonymous.tags('public/base'), ['v1']);
  const layer = JSON.parse(manifest.text).layers[0].digest as string;
  t.is((await anonymous.getBlob('public/base', layer)).status, 200);
  for (const res of [
    await anonymous.getManifest('alice/app', 'v1'),
    await anonymous.send('/v2/public/base/blobs/uploads/', { method: 'POST' }),
    await anonymous.send('/v2/public/base/manifests/v1', { method: 'DELETE' }),
    await anonymous.send('/v2/_catalog'),
    await anonymous.send('/v2/'),
  ]) {
    t.is(res.status, 401);
    // The policy grants anonymous pulls: docker needs the token flow to use them (token-auth.ts).
    const host = new URL(stack.gatewayUrl).host;
    t.is(res.header('www-authenticate'), `Bearer realm="http://${host}/v2/token",service="${host}"`);
  }
  // skopeo and podman without a login send empty Basic credentials: the same as none.
  const empty = new RegistryClient(stack.gatewayUrl, { authorization: `Basic ${Buffer.from(':').toString('base64')}` });
  t.is((await empty.getManifest('public/base', 'v1')).status, 200);
  t.is((await empty.getManifest('alice/app', 'v1')).status, 401);
  // Logged-in users keep the anonymous grants.
  t.is((await clients.carol.getManifest('public/base', 'v1')).status, 200);
});

test('a cross-repository mount happens only when the user may pull the source; otherwise an upload starts', async (t) => {
  const { layer } = await pushImage(clients.alice, 'alice/mount-src', 'v1');
  const refused = await clients.bob.send(`/v2/bob/mounted/blobs/uploads/?mount=${layer}&from=alice/mount-src`, { method: 'POST' });
  t.is(refused.status, 202, refused.text);
  t.regex(new URL(refused.header('location'), stack.gatewayUrl).pathname, /^\/v2\/bob\/mounted\/blobs\/uploads\/[^/]+$/);
  t.is((await clients.bob.getBlob('bob/mounted', layer, {}, 'HEAD')).status, 404, 'nothing was mounted');
  const missing = await clients.bob.send(`/v2/bob/mounted/blobs/uploads/?mount=${layer}&from=alice/nothing-here`, { method: 'POST' });
  t.is(missing.status, 202, 'the same answer for a source that does not exist');

  const allowed = await clients.alice.send(`/v2/alice/mounted/blobs/uploads/?mount=${layer}&from=alice/mount-src`, { method: 'POST' });
  t.is(allowed.status, 201);
  const teamMount = await clients.bob.send(`/v2/bob/from-team/blobs/uploads/?mount=${(await pushImage(clients.bob, 'team/m', 'v1')).layer}&from=team/m`, { method: 'POST' });
  t.is(teamMount.status, 201, 'bob may pull team/m');
});

// Serial (ava runs these first): no other test adds repositories meanwhile.
test.serial('the catalog lists what the caller may pull, paged correctly after the filter', async (t) => {
  await pushImage(clients.alice, 'alice/zz', 'v1');
  await pushImage(clients.carol, 'carol/a', 'v1');
  const everything = await clients.root.catalog();
  t.true(everything.includes('alice/app') && everything.includes('carol/a'));
  t.deepEqual(await clients.puller.catalog(), everything, 'a ** pull rule sees everything');

  const bobSees = await clients.bob.catalog();
  t.false(bobSees.includes('alice/app'));
  t.deepEqual(bobSees, everything.filter((name) => /^(bob|team|public)\//.test(name)));
  t.deepEqual(bobSees, ['bob/tool', 'public/base', 'team/svc']);

  // Page through with n=1 and n=2, following Link headers: the same list, no empty page at the end.
  for (const n of [1, 2]) {
    const seen: string[] = [];
    let path: string | undefined = `/v2/_catalog?n=${n}`;
    let pages = 0;
    while (path !== undefined) {
      const res = await clients.bob.send(path);
      t.is(res.status, 200);
      const names = res.json<{ repositories: string[] }>().repositories;
      t.true(names.length > 0 && names.length <= n, `page ${pages}: ${names.join(' ')}`);
      seen.push(...names);
      const link = res.header('link');
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      pages++;
    }
    t.deepEqual(seen, bobSees, `n=${n}`);
    t.is(pages, Math.ceil(bobSees.length / n));
  }
  const after = await clients.bob.send(`/v2/_catalog?last=${encodeURIComponent(bobSees[0]!)}`);
  t.deepEqual(after.json<{ repositories: string[] }>().repositories, bobSees.slice(1));
  t.deepEqual((await clients.bob.send('/v2/_catalog?n=0')).json(), { repositories: [] });
  const bad = await clients.bob.send('/v2/_catalog?n=-1');
  t.is(bad.status, 400);
  t.is(bad.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'PAGINATION_NUMBER_INVALID');
});

test('a denial is logged with user, action, repository and rule, and never throttles the user', async (t) => {
  for (let i = 0; i < 30; i++) t.is((await clients.carol.getManifest('alice/app', 'v1')).status, 403);
  t.is((await clients.carol.getManifest('public/base', 'v1')).status, 200, 'no 429: a denial is not a failed login');
  const line = stack.gatewayLogs.lines().find((l) => l.msg === 'access denied' && l.user === 'carol');
  t.like(line, { user: 'carol', action: 'pull', repository: 'alice/app', rule: 'none' });
  t.false(stack.gatewayLogs.lines().some((l) => String(l.msg).includes('failed login') && l.user === 'carol'));
});

test.serial('a policy change applies to the next requests: a grant added, then removed', async (t) => {
  const bobMayPull = async () => (await clients.bob.getManifest('alice/app', 'v1')).status === 200;
  t.false(await bobMayPull());
  const grant = '  - repositories: ["alice/app"]\n    users: [bob]\n    actions: [pull]\n';
  await writeFile(policyPath, POLICY + grant);
  const deadline = Date.now() + 5000;
  while (!(await bobMayPull())) {
    t.true(Date.now() < deadline, 'the grant applied within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // A broken version keeps the last good policy.
  await writeFile(policyPath, POLICY + grant + '  - repositories: [x]\n    actions: [pul]\n');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.true(await bobMayPull(), 'the last good policy stays in force');
  t.true(stack.gatewayLogs.lines().some((l) => l.level === 50 && String(l.msg).includes('keeping the last good policy')));

  await writeFile(policyPath, POLICY);
  while (await bobMayPull()) {
    t.true(Date.now() < deadline + 5000, 'the removal applied within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.false(await bobMayPull());
});

test('the token flow: anonymous and user tokens from /v2/token, checked against the policy on each request', async (t) => {
  const token = async (headers: Record<string, string> = {}) => {
    const res = await anonymous.send('/v2/token?service=x&scope=repository:alice/app:pull', { headers });
    t.is(res.status, 200, res.text);
    const body = res.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
    t.is(body.token, body.access_token);
    t.is(body.expires_in, 300);
    return new RegistryClient(stack.gatewayUrl, { authorization: `Bearer ${body.token}` });
  };
  const nobody = await token();
  t.is((await nobody.getManifest('public/base', 'v1')).status, 200);
  t.is((await nobody.getManifest('alice/app', 'v1')).status, 401);
  t.is((await nobody.send('/v2/')).status, 401, 'an anonymous token does not log in');

  const alice = await token(basic('alice'));
  t.is((await alice.send('/v2/')).status, 200);
  t.is((await alice.getManifest('alice/app', 'v1')).status, 200);
  assertDenied(t, await (await token(basic('bob'))).getManifest('alice/app', 'v1'), 'alice/app', ['pull'], 'bob by token');

  const wrong = await anonymous.send('/v2/token', { headers: { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` } });
  t.is(wrong.status, 401);
  t.is(wrong.header('www-authenticate'), 'Basic realm="basic-realm"');
  const forged = new RegistryClient(stack.gatewayUrl, { authorization: 'Bearer rt1.eyJzdWIiOiJyb290IiwiZXhwIjo5OTk5OTk5OTk5fQ.AAAA' });
  t.is((await forged.getManifest('alice/app', 'v1')).status, 401, 'a token not signed by the gateway names nobody');
});

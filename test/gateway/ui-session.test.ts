// The web UI's server side against the real gateway, storage and htpasswd file: the page and its
// files, login (cookie attributes, the Basic throttle), the cookie on /v2 (only from our own
// pages, state changes only with the anti-CSRF token), forged, expired, logged-out and
// changed-password sessions, the repository summaries, and an access policy's filtering.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunningServer } from '../../common/running-server.js';
import { runGateway } from '../../gateway/main.js';
import { Sessions, SESSION_COOKIE } from '../../gateway/ui/session.js';
import { RegistryClient } from '../helpers/storage-http.js';
import { waitFor } from '../helpers/wait.js';
import { captureLogger } from './helpers/capture-logger.js';
import { request, type TestResponse } from './helpers/http-client.js';
import { startStack, type Stack } from './helpers/stack.js';

const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', guest: 'guest-pw' } as const;
const POLICY = `rules:
  - repositories: ["**"]
    users: [alice]
    actions: [pull, push, delete]
  - repositories: ["team/**"]
    users: [bob]
    actions: [pull]
  - repositories: ["public/**"]
    anonymous: true
    actions: [pull]
`;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };

let stack: Stack;
let policed: Stack;
let alice: RegistryClient;
let policyDir: string | undefined;

function basic(user: keyof typeof PASSWORDS): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}` };
}

async function pushImage(client: RegistryClient, name: string, tag: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', created: '2026-01-02T03:04:05Z', rootfs: { type: 'layers', diff_ids: [] } }));
  const layerBytes = Buffer.from(`layer of ${name}:${tag}`);
  const configDigest = await client.pushBlob(name, config);
  const layer = await client.pushBlob(name, layerBytes);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: layerBytes.length }],
  });
  return await client.pushManifest(name, tag, manifest, MANIFEST_TYPE);
}

test.before(async () => {
  stack = await startStack({ users: { ...PASSWORDS }, config: { ui: { enabled: true }, storage: { delete: { enabled: true } } } });
  alice = new RegistryClient(stack.gatewayUrl, basic('alice'));
  await pushImage(alice, 'team/app', 'v1');
  await pushImage(alice, 'team/app', 'v2');
  await pushImage(alice, 'team/web', 'v1');
  await pushImage(alice, 'public/base', 'v1');
  await pushImage(alice, 'other/thing', 'v1');

  policyDir = await mkdtemp(join(tmpdir(), 'ui-policy-'));
  const policyPath = join(policyDir, 'policy.yml');
  await writeFile(policyPath, POLICY);
  policed = await startStack({ users: { ...PASSWORDS }, config: { ui: { enabled: true }, access: { path: policyPath }, storage: { delete: { enabled: true } } } });
  const policedAlice = new RegistryClient(policed.gatewayUrl, basic('alice'));
  for (const name of ['team/app', 'public/base', 'other/thing']) await pushImage(policedAlice, name, 'v1');
});
test.after.always(async () => {
  await Promise.all([stack?.close(), policed?.close()]);
  if (policyDir) await rm(policyDir, { recursive: true, force: true });
});

interface Login {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function login(base: string, user: string, password: string, headers: Record<string, string> = SAME_ORIGIN, localAddress?: string): Promise<TestResponse> {
  return await request(`${base}/ui/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username: user, password }),
    localAddress,
  });
}

async function loggedIn(base: string, user: keyof typeof PASSWORDS): Promise<Login> {
  const res = await login(base, user, PASSWORDS[user]);
  if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`);
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: (JSON.parse(res.text) as { csrf: string }).csrf, setCookie };
}

test('/ serves the page with its start data, strict page headers and versioned files cached for a year', async (t) => {
  const page = await request(`${stack.gatewayUrl}/`);
  t.is(page.status, 200);
  t.regex(String(page.headers['content-type']), /^text\/html/);
  t.is(page.headers['cache-control'], 'no-cache');
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
  t.is(page.headers['x-frame-options'], 'DENY');
  const boot = JSON.parse(/<script id="boot" type="application\/json">(.*?)<\/script>/.exec(page.text)![1]!) as Record<string, unknown>;
  t.deepEqual(boot, { authEnabled: true, user: null, csrf: null, deleteEnabled: true, anonymousBrowsing: false });
  t.false(/https?:\/\/(?!www\.w3\.org)/.test(page.text), 'no address of another host in the page');

  const script = /src="(\/ui\/assets\/app\.js\?v=([0-9a-f]+))"/.exec(page.text)!;
  const js = await request(`${stack.gatewayUrl}${script[1]}`);
  t.is(js.status, 200);
  t.regex(String(js.headers['content-type']), /^text\/javascript/);
  t.is(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.false(/https?:\/\/[a-z]/i.test(js.text.replace(/http:\/\/www\.w3\.org\/[\w/.]+/g, '')), 'the script calls no other host');
  const again = await request(`${stack.gatewayUrl}${script[1]}`, { headers: { 'if-none-match': String(js.headers.etag) } });
  t.is(again.status, 304);
  const css = await request(`${stack.gatewayUrl}/ui/assets/app.css`);
  t.is(css.headers['cache-control'], 'no-cache', 'without the version, revalidate');
  t.is((await request(`${stack.gatewayUrl}/ui/assets/../../cli/main.js`)).status, 404);
  t.is((await request(`${stack.gatewayUrl}/healthz`)).status, 200);
});

test('login sets an HttpOnly, SameSite=Strict, expiring cookie; a wrong password sets none', async (t) => {
  const wrong = await login(stack.gatewayUrl, 'alice', 'nope');
  t.is(wrong.status, 401);
  t.is(wrong.headers['set-cookie'], undefined);
  t.is(wrong.headers['www-authenticate'], undefined, 'no browser login dialog');
  const { setCookie, csrf } = await loggedIn(stack.gatewayUrl, 'alice');
  t.regex(setCookie, new RegExp(`^${SESSION_COOKIE}=s1\\.`));
  for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=28800']) t.true(setCookie.includes(attribute), attribute);
  t.false(setCookie.includes('Secure'), 'plain http: no Secure');
  t.true(csrf.length > 20);
});

test('login refuses other sites, forms and junk', async (t) => {
  t.is((await login(stack.gatewayUrl, 'alice', PASSWORDS.alice, { 'sec-fetch-site': 'cross-site' })).status, 403);
  t.is((await login(stack.gatewayUrl, 'alice', PASSWORDS.alice, { 'sec-fetch-site': 'same-site' })).status, 403);
  t.is((await login(stack.gatewayUrl, 'alice', PASSWORDS.alice, { origin: 'https://evil.example' })).status, 403);
  const form = await request(`${stack.gatewayUrl}/ui/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `username=alice&password=${PASSWORDS.alice}`,
  });
  t.is(form.status, 415);
  const junk = await request(`${stack.gatewayUrl}/ui/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
  t.is(junk.status, 400);
  const huge = await request(`${stack.gatewayUrl}/ui/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'a', password: 'x'.repeat(10_000) }) });
  t.is(huge.status, 400);
});

test.serial('the cookie reads /v2 from our own pages only; a state change needs the anti-CSRF token', async (t) => {
  const { cookie, csrf } = await loggedIn(stack.gatewayUrl, 'alice');
  const ok = await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, ...SAME_ORIGIN } });
  t.is(ok.status, 200);
  t.deepEqual((JSON.parse(ok.text) as { repositories: string[] }).repositories, ['other/thing', 'public/base', 'team/app', 'team/web']);
  t.is((await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie } })).status, 200, 'a browser too old for Sec-Fetch-Site');
  for (const site of ['cross-site', 'same-site']) {
    t.is((await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, 'sec-fetch-site': site } })).status, 401, site);
  }
  t.is((await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, origin: 'http://127.0.0.1:1' } })).status, 401, 'foreign Origin');

  await pushImage(alice, 'team/app', 'doomed');
  const del = (headers: Record<string, string>) => request(`${stack.gatewayUrl}/v2/team/app/manifests/doomed`, { method: 'DELETE', headers: { cookie, ...headers } });
  t.is((await del(SAME_ORIGIN)).status, 401, 'no token');
  t.is((await del({ ...SAME_ORIGIN, 'x-registry-csrf': 'x'.repeat(csrf.length) })).status, 401, 'wrong token');
  t.is((await del({ 'sec-fetch-site': 'cross-site', 'x-registry-csrf': csrf })).status, 401, 'another site, even with the token');
  const upload = await request(`${stack.gatewayUrl}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { cookie, ...SAME_ORIGIN } });
  t.is(upload.status, 401, 'a simple cross-site POST cannot start an upload');
  t.is((await del({ ...SAME_ORIGIN, 'x-registry-csrf': csrf })).status, 202);
  t.deepEqual(await alice.tags('team/app'), ['v1', 'v2']);
});

test('a UI request refused gets no Basic challenge (no browser dialog); other clients still do', async (t) => {
  const ui = await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { 'x-registry-ui': '1' } });
  t.is(ui.status, 401);
  t.is(ui.headers['www-authenticate'], undefined);
  t.regex(String((await request(`${stack.gatewayUrl}/v2/_catalog`)).headers['www-authenticate']), /^Basic/);
});

test('forged, foreign-key and expired cookies are refused', async (t) => {
  const { cookie } = await loggedIn(stack.gatewayUrl, 'bob');
  const [prefix, payload, signature] = cookie.slice(SESSION_COOKIE.length + 1).split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, u: 'alice' })).toString('base64url');
  const attempts = [
    `${prefix}.${forged}.${signature}`,
    `${prefix}.${payload}.${'A'.repeat(signature!.length)}`,
    `${prefix}.${payload}`,
    'garbage',
    'x'.repeat(5000),
    new Sessions({ secret: 'another secret', accountStamp: () => '' }).issue('alice').value,
  ];
  for (const value of attempts) {
    const res = await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie: `${SESSION_COOKIE}=${value}`, ...SAME_ORIGIN } });
    t.is(res.status, 401, value.slice(0, 40));
  }
  let now = Date.parse('2026-01-01T00:00:00Z');
  const sessions = new Sessions({ secret: 's', accountStamp: () => 'stamp', now: () => now });
  const { value } = sessions.issue('alice');
  t.is((await sessions.verify(value))?.user, 'alice');
  now += sessions.lifetimeSeconds * 1000 - 1000;
  t.truthy(await sessions.verify(value));
  now += 1000;
  t.is(await sessions.verify(value), undefined, 'expired');
  const changed = new Sessions({ secret: 's', accountStamp: () => 'new stamp', now: () => now - 5000 });
  t.is(await changed.verify(value), undefined, 'account changed');
});

test('login is throttled like Basic auth: after 10 wrong passwords from an address, 429 for both', async (t) => {
  const address = '127.0.0.7';
  for (let i = 0; i < 10; i++) t.is((await login(stack.gatewayUrl, 'guest', `wrong-${i}`, SAME_ORIGIN, address)).status, 401);
  const throttled = await login(stack.gatewayUrl, 'guest', PASSWORDS.guest, SAME_ORIGIN, address);
  t.is(throttled.status, 429);
  t.truthy(throttled.headers['retry-after']);
  t.is(throttled.headers['set-cookie'], undefined);
  const basicToo = await request(`${stack.gatewayUrl}/v2/`, { headers: basic('guest'), localAddress: address });
  t.is(basicToo.status, 429, 'one throttle for both doors');
});

test('logout needs the token, clears the cookie and ends the session on the server too', async (t) => {
  const { cookie, csrf } = await loggedIn(stack.gatewayUrl, 'alice');
  t.is((await request(`${stack.gatewayUrl}/ui/api/logout`, { method: 'POST', headers: { cookie, ...SAME_ORIGIN } })).status, 403);
  t.is((await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, ...SAME_ORIGIN } })).status, 200);
  const out = await request(`${stack.gatewayUrl}/ui/api/logout`, { method: 'POST', headers: { cookie, 'x-registry-csrf': csrf, ...SAME_ORIGIN } });
  t.is(out.status, 204);
  t.regex(String(out.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
  t.is((await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, ...SAME_ORIGIN } })).status, 401, 'the old cookie is dead');
  const session = JSON.parse((await request(`${stack.gatewayUrl}/ui/api/session`, { headers: { cookie, ...SAME_ORIGIN } })).text) as { user: unknown };
  t.is(session.user, null);
});

test('a logout holds on every gateway replica and after a restart: storage keeps it', async (t) => {
  const replicas = await startStack({ users: { ...PASSWORDS }, config: { ui: { enabled: true }, http: { secret: 'shared by the replicas' } } });
  const others: RunningServer[] = [];
  t.teardown(async () => {
    await Promise.all(others.map((gateway) => gateway.close()));
    await replicas.close();
  });
  const replica = async () => {
    const gateway = await runGateway(replicas.config, captureLogger('warn').logger, { closeGraceMs: 1000 });
    others.push(gateway);
    return gateway.urls[0]!;
  };
  const second = await replica();
  const catalog = async (base: string, cookie: string) => (await request(`${base}/v2/_catalog`, { headers: { cookie, ...SAME_ORIGIN } })).status;
  const { cookie, csrf } = await loggedIn(replicas.gatewayUrl, 'alice');
  t.is(await catalog(second, cookie), 200, 'a session of one replica opens the other');
  const out = await request(`${replicas.gatewayUrl}/ui/api/logout`, { method: 'POST', headers: { cookie, 'x-registry-csrf': csrf, ...SAME_ORIGIN } });
  t.is(out.status, 204);
  t.is(await catalog(replicas.gatewayUrl, cookie), 401);
  // The other replica trusts its last answer for at most 2 s.
  await waitFor(async () => (await catalog(second, cookie)) === 401, 5000);
  t.pass('the other replica refuses it');
  t.is(await catalog(await replica(), cookie), 401, 'a gateway started afterwards refuses it too');
  const fresh = await loggedIn(second, 'alice');
  t.is(await catalog(replicas.gatewayUrl, fresh.cookie), 200, 'other sessions are untouched');
});

test('storage keeps logouts behind its internal token, and takes only session ids and expiry times', async (t) => {
  const guarded = await startStack({ token: 'internal-token' });
  t.teardown(() => guarded.close());
  const path = `${guarded.storageUrl}/_registry/ui-sessions/logged-out`;
  const id = 'AAAAAAAAAAAAAAAAAAAAAA';
  const token = { 'x-registry-internal-token': 'internal-token' };
  t.is((await request(`${path}/${id}`, { method: 'PUT', body: '9999999999' })).status, 403, 'no token: refused');
  t.is((await request(`${path}/${id}`, { headers: token })).status, 404);
  t.is((await request(`${path}/${id}`, { method: 'PUT', headers: token, body: '9999999999' })).status, 204);
  t.is((await request(`${path}/${id}`, { headers: token })).status, 200);
  t.is((await request(`${path}/..%2F..%2Fetc`, { method: 'PUT', headers: token, body: '1' })).status, 400, 'not a session id');
  t.is((await request(`${path}/${id}`, { method: 'PUT', headers: token, body: 'not a time' })).status, 400);
  t.is((await request(`${path}/BBBBBBBBBBBBBBBBBBBBBB`, { method: 'PUT', headers: token, body: '1' })).status, 204);
  t.is((await request(`${path}/BBBBBBBBBBBBBBBBBBBBBB`, { headers: token })).status, 404, 'expired: as if never recorded');
});

test('a changed password ends the sessions of that user', async (t) => {
  const { cookie } = await loggedIn(stack.gatewayUrl, 'guest');
  t.is((await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, ...SAME_ORIGIN } })).status, 200);
  await promisify(execFile)('htpasswd', ['-Bb', join(stack.dir, 'htpasswd'), 'guest', 'a new password']);
  await waitFor(async () => (await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { cookie, ...SAME_ORIGIN } })).status === 401, 10_000);
  t.pass();
});

test.serial('the repository summaries: tag count, size, last push; filter and pages; tags with platforms and dates', async (t) => {
  const list = await alice.send('/v2/_registry/repositories');
  t.is(list.status, 200);
  const { repositories } = list.json<{ repositories: Array<{ name: string; tags: number; size: number; lastPush: string }> }>();
  t.deepEqual(repositories.map((r) => r.name), ['other/thing', 'public/base', 'team/app', 'team/web']);
  const app = repositories.find((r) => r.name === 'team/app')!;
  t.is(app.tags, 2);
  t.true(app.size > 0);
  t.true(Date.now() - Date.parse(app.lastPush) < 600_000);

  const filtered = await alice.send('/v2/_registry/repositories?q=TEAM');
  t.deepEqual(filtered.json<{ repositories: Array<{ name: string }> }>().repositories.map((r) => r.name), ['team/app', 'team/web']);
  const page1 = await alice.send('/v2/_registry/repositories?n=2');
  t.deepEqual(page1.json<{ repositories: Array<{ name: string }> }>().repositories.map((r) => r.name), ['other/thing', 'public/base']);
  t.is(page1.header('link'), '</v2/_registry/repositories?last=public%2Fbase&n=2>; rel="next"');
  const page2 = await alice.send('/v2/_registry/repositories?last=public%2Fbase&n=2');
  t.deepEqual(page2.json<{ repositories: Array<{ name: string }> }>().repositories.map((r) => r.name), ['team/app', 'team/web']);
  t.is(page2.header('link'), '');
  t.is((await alice.send('/v2/_registry/repositories?n=x')).status, 400);

  await pushImage(alice, 'team/new', 'v1');
  const after = (await alice.send('/v2/_registry/repositories?q=team')).json<{ repositories: Array<{ name: string }> }>();
  t.true(after.repositories.some((r) => r.name === 'team/new'), 'a push shows at once');

  const detail = (await alice.send('/v2/_registry/repositories/team/app')).json<{ tags: number; tagList: Array<Record<string, unknown>> }>();
  t.is(detail.tags, 2);
  t.is(detail.tagList[0]!.tag, 'v1');
  t.regex(String(detail.tagList[0]!.digest), /^sha256:[0-9a-f]{64}$/);
  t.deepEqual(detail.tagList[0]!.platforms, ['linux/arm64']);
  t.is(detail.tagList[0]!.created, '2026-01-02T03:04:05.000Z');
  t.is((await alice.send('/v2/_registry/repositories/team/none')).status, 404);
  t.is((await alice.send('/v2/_registry/repositories/Bad..Name')).status, 400);
  t.is((await request(`${stack.gatewayUrl}/v2/_registry/repositories`)).status, 401);
});

test('with an access policy: lists filtered per user, anonymous browsing, delete buttons per repository', async (t) => {
  const names = async (headers: Record<string, string>) =>
    (JSON.parse((await request(`${policed.gatewayUrl}/v2/_registry/repositories`, { headers })).text) as { repositories: Array<{ name: string }> }).repositories.map((r) => r.name);
  t.deepEqual(await names(basic('alice')), ['other/thing', 'public/base', 'team/app']);
  t.deepEqual(await names(basic('bob')), ['public/base', 'team/app']);
  t.deepEqual(await names({}), ['public/base'], 'anonymous: what anonymous users may pull');
  const bob = await loggedIn(policed.gatewayUrl, 'bob');
  t.deepEqual(await names({ cookie: bob.cookie, ...SAME_ORIGIN }), ['public/base', 'team/app'], 'the cookie is bob');
  t.is((await request(`${policed.gatewayUrl}/v2/_registry/repositories/other/thing`, { headers: { cookie: bob.cookie, ...SAME_ORIGIN } })).status, 403);

  const boot = JSON.parse(/<script id="boot" type="application\/json">(.*?)<\/script>/.exec((await request(`${policed.gatewayUrl}/`)).text)![1]!) as { anonymousBrowsing: boolean };
  t.true(boot.anonymousBrowsing);
  const may = async (cookie: string | undefined, repository: string) =>
    (JSON.parse((await request(`${policed.gatewayUrl}/ui/api/permissions?repository=${repository}`, { headers: cookie ? { cookie, ...SAME_ORIGIN } : {} })).text) as { delete: boolean }).delete;
  const aliceLogin = await loggedIn(policed.gatewayUrl, 'alice');
  t.true(await may(aliceLogin.cookie, 'team/app'));
  t.false(await may(bob.cookie, 'team/app'));
  t.false(await may(undefined, 'public/base'));
});

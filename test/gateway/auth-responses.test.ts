// The gateway's own answers, against the real htpasswd authenticator and the real storage:
// registry:2's exact 401 (headers, body and per-route detail), 429 when throttled, the routes
// outside /v2, and the configured extra headers.
import { THROTTLED_ANSWER_DELAY_MS } from '../../gateway/middleware/auth.js';
import test from 'ava';
import { request } from './helpers/http-client.js';
import { startStack, type Stack } from './helpers/stack.js';

const alice = { user: 'alice', password: 's3cret' };
// Characters above U+00FF cannot go into an HTTP header as they are; `%` must survive the encoding.
const unicodeUser = { user: 'zoë-名前-🐳', password: 'unicode pw' };
const percentUser = { user: 'ops%2Fadmin', password: 'percent pw' };
let stack: Stack;

test.before(async () => {
  stack = await startStack({
    users: { alice: alice.password, bob: 'other-pass', carol: 'carol pw', [unicodeUser.user]: unicodeUser.password, [percentUser.user]: percentUser.password },
    config: { http: { headers: { 'X-Content-Type-Options': ['nosniff'] } } },
  });
});
test.after.always(async () => {
  await stack?.close();
});

const UNAUTHORIZED_BASE = '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}\n';

test('GET /v2/ without credentials gets exactly registry:2\'s 401', async (t) => {
  const res = await request(`${stack.gatewayUrl}/v2/`);
  t.is(res.status, 401);
  t.is(res.headers['www-authenticate'], 'Basic realm="basic-realm"');
  t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
  t.is(res.headers['content-type'], 'application/json; charset=utf-8');
  t.is(res.headers['x-content-type-options'], 'nosniff');
  t.is(res.text, UNAUTHORIZED_BASE);
  t.is(res.headers['content-length'], String(Buffer.byteLength(UNAUTHORIZED_BASE)));
});

test('the 401 detail names the access each route needs, like registry:2', async (t) => {
  const repo = (name: string, action: string) => ({ Type: 'repository', Class: '', Name: name, Action: action });
  const cases: Array<{ method: string; path: string; detail: unknown }> = [
    { method: 'GET', path: '/v2/_catalog', detail: [{ Type: 'registry', Class: '', Name: 'catalog', Action: '*' }] },
    { method: 'GET', path: '/v2/probe/x/manifests/v1', detail: [repo('probe/x', 'pull')] },
    { method: 'HEAD', path: '/v2/probe/x/blobs/sha256:' + 'a'.repeat(64), detail: [repo('probe/x', 'pull')] },
    { method: 'GET', path: '/v2/probe/x/tags/list', detail: [repo('probe/x', 'pull')] },
    { method: 'POST', path: '/v2/probe/x/blobs/uploads/', detail: [repo('probe/x', 'pull'), repo('probe/x', 'push')] },
    { method: 'PUT', path: '/v2/probe/x/manifests/v1', detail: [repo('probe/x', 'pull'), repo('probe/x', 'push')] },
    {
      method: 'POST',
      path: '/v2/probe/x/blobs/uploads/?from=other/y&mount=sha256:' + 'a'.repeat(64),
      detail: [repo('probe/x', 'pull'), repo('probe/x', 'push'), repo('other/y', 'pull')],
    },
    { method: 'DELETE', path: '/v2/probe/x/manifests/sha256:' + 'a'.repeat(64), detail: [repo('probe/x', 'delete')] },
    { method: 'OPTIONS', path: '/v2/probe/x/manifests/v1', detail: null },
  ];
  for (const { method, path, detail } of cases) {
    const res = await request(`${stack.gatewayUrl}${path}`, { method });
    t.is(res.status, 401, `${method} ${path}`);
    t.is(res.headers['www-authenticate'], 'Basic realm="basic-realm"', `${method} ${path}`);
    if (method === 'HEAD') {
      t.is(res.body.length, 0, 'HEAD has no body');
      continue;
    }
    t.deepEqual(JSON.parse(res.text), { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }] }, `${method} ${path}`);
  }
});

test('HEAD /v2/ gets the same 401 status and headers with no body', async (t) => {
  const res = await request(`${stack.gatewayUrl}/v2/`, { method: 'HEAD' });
  t.is(res.status, 401);
  t.is(res.headers['www-authenticate'], 'Basic realm="basic-realm"');
  t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
  t.is(res.body.length, 0);
});

test('Bearer, malformed Basic and wrong passwords all get the Basic challenge, never a 500', async (t) => {
  const attempts: Array<Record<string, string>> = [
    { authorization: 'Bearer some.jwt.token' },
    { authorization: 'Basic !!!not-base64!!!' },
    { authorization: 'Basic ' + Buffer.from('no-colon-here').toString('base64') },
    { authorization: 'Basic' },
    { authorization: 'Digest username="alice"' },
    { authorization: 'Basic ' + Buffer.from('alice:wrong').toString('base64') },
    { authorization: 'Basic ' + Buffer.from('nobody:s3cret').toString('base64') },
  ];
  for (const headers of attempts) {
    const res = await request(`${stack.gatewayUrl}/v2/`, { headers, localAddress: '127.0.0.3' });
    t.is(res.status, 401, headers.authorization);
    t.is(res.headers['www-authenticate'], 'Basic realm="basic-realm"');
    t.is(res.text, UNAUTHORIZED_BASE);
  }
});

test('the right password reaches storage; storage\'s answer keeps the extra headers', async (t) => {
  const res = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: alice });
  t.is(res.status, 200);
  t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
  t.is(res.headers['x-content-type-options'], 'nosniff');
  t.deepEqual(JSON.parse(res.text), {});
});

test('a client that keeps guessing is throttled: 429 TOOMANYREQUESTS with Retry-After', async (t) => {
  const guesser = '127.0.0.9';
  let res = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: { user: 'bob', password: 'guess-0' }, localAddress: guesser });
  for (let i = 1; i <= 30 && res.status === 401; i++) {
    res = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: { user: 'bob', password: `guess-${i}` }, localAddress: guesser });
  }
  t.is(res.status, 429);
  t.regex(String(res.headers['retry-after']), /^[1-9]\d*$/);
  const started = Date.now();
  const again = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: { user: 'bob', password: 'guess-x' }, localAddress: guesser });
  t.is(again.status, 429);
  t.true(Date.now() - started >= THROTTLED_ANSWER_DELAY_MS - 50, 'a throttled guess is answered only after a pause');
  t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
  t.is(JSON.parse(res.text).errors[0].code, 'TOOMANYREQUESTS');
  // Another address is not affected.
  const other = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: { user: 'bob', password: 'other-pass' }, localAddress: '127.0.0.10' });
  t.is(other.status, 200);
});

test('/ answers 200 with an empty body and /healthz answers 200, without credentials', async (t) => {
  const root = await request(`${stack.gatewayUrl}/`);
  t.is(root.status, 200);
  t.is(root.body.length, 0);
  t.is(root.headers['cache-control'], 'no-cache');
  const health = await request(`${stack.gatewayUrl}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(JSON.parse(health.text), { status: 'ok' });
});

test('paths outside /v2 get 404 with an OCI error body and the standard headers', async (t) => {
  for (const path of ['/foo', '/v1/search?q=x', '/v20/']) {
    const res = await request(`${stack.gatewayUrl}${path}`);
    t.is(res.status, 404, path);
    t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
    t.is(res.headers['x-content-type-options'], 'nosniff');
    t.is(res.headers['content-type'], 'application/json; charset=utf-8');
    const body = JSON.parse(res.text);
    t.is(body.errors.length, 1);
    t.is(typeof body.errors[0].code, 'string');
    t.is(typeof body.errors[0].message, 'string');
  }
});

test('the access log names the user and client and never holds a password or an Authorization header', async (t) => {
  const secret = 'pa55-in-log-test';
  await request(`${stack.gatewayUrl}/v2/?_state=secret-upload-state&n=5`, { basicAuth: { user: 'alice', password: secret } });
  await request(`${stack.gatewayUrl}/v2/_catalog?n=5`, { basicAuth: alice, headers: { 'user-agent': 'log-test/1' } });
  const raw = stack.gatewayLogs.raw();
  t.false(raw.includes(secret));
  t.false(raw.includes(alice.password));
  t.false(raw.includes(Buffer.from(`alice:${alice.password}`).toString('base64')));
  t.false(raw.includes('secret-upload-state'));
  t.false(/authorization/i.test(raw));
  const line = stack.gatewayLogs.lines().find((l) => l.msg === 'request' && l.path === '/v2/_catalog' && l.userAgent === 'log-test/1');
  t.truthy(line);
  t.like(line, { method: 'GET', status: 200, user: 'alice', client: '127.0.0.1', query: 'n=5' });
  t.true(typeof line!.bytes === 'number' && (line!.bytes as number) > 0);
  t.true(typeof line!.durationMs === 'number');
  t.truthy(line!.requestId);
});

test('a client-sent x-registry-user never reaches storage: storage sees the authenticated user', async (t) => {
  const res = await request(`${stack.gatewayUrl}/v2/probe/impostor/blobs/uploads/`, {
    method: 'POST',
    basicAuth: alice,
    headers: { 'x-registry-user': 'admin', 'x-registry-internal-token': 'forged', 'content-length': '0' },
  });
  t.is(res.status, 202);
  const requestId = String(res.headers['x-request-id']);
  const seen = stack.storageLogs.lines().find((l) => l.msg === 'request' && l.reqId === requestId);
  t.truthy(seen, 'storage logged the request under the gateway\'s request id');
  t.is(seen!.user, 'alice');
  t.false(stack.storageLogs.raw().includes('"admin"'));
});

test('user names with any characters authenticate and reach storage unchanged', async (t) => {
  // Issue 7: a name above U+00FF authenticated, then every request reset (ERR_INVALID_CHAR on
  // the internal user header).
  for (const who of [unicodeUser, percentUser]) {
    const res = await request(`${stack.gatewayUrl}/v2/probe/unicode-user/blobs/uploads/`, {
      method: 'POST',
      basicAuth: who,
      headers: { 'content-length': '0' },
    });
    t.is(res.status, 202);
    const requestId = String(res.headers['x-request-id']);
    t.like(stack.gatewayLogs.lines().find((l) => l.msg === 'request' && l.requestId === requestId), { user: who.user, status: 202 });
    const seen = stack.storageLogs.lines().find((l) => l.msg === 'request' && l.reqId === requestId);
    t.is(seen?.user, who.user);
  }
});

test('from a throttled address, the right password of a user with a session is throttled like the guesses', async (t) => {
  // Issue 7: the credential cache was asked before the throttle, so the right guess got 200.
  const carol = { user: 'carol', password: 'carol pw' };
  const v2 = `${stack.gatewayUrl}/v2/`;
  t.is((await request(v2, { basicAuth: carol, localAddress: '127.0.0.32' })).status, 200, 'carol has a session');
  const guesser = '127.0.0.31';
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await request(v2, { basicAuth: { user: 'carol', password: `guess ${i}` }, localAddress: guesser })).status);
  t.deepEqual(statuses, Array<number>(10).fill(401));
  t.is((await request(v2, { basicAuth: carol, localAddress: guesser })).status, 429);
  t.is((await request(v2, { basicAuth: carol, localAddress: '127.0.0.32' })).status, 200, 'carol keeps working from her address');
});

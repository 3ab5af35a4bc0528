// CORS (gateway/middleware/cors.ts) against the real gateway, storage and htpasswd file: preflights
// answered 204 before auth, the allowed origin echoed with credentials on every answer (401s,
// errors, proxied answers), nothing for other origins, http.headers kept without http.cors and
// overridden by it, and the config key with its environment variable.
import test from 'ava';
import { loadConfig, ConfigError } from '../../common/config/load.js';
import { CORS_MAX_AGE_SECONDS } from '../../gateway/middleware/cors.js';
import { request } from './helpers/http-client.js';
import { startStack, type Stack } from './helpers/stack.js';

const UI = 'http://127.0.0.1:8000';
const alice = { user: 'alice', password: 's3cret' };
let stack: Stack;
let legacy: Stack;

test.before(async () => {
  [stack, legacy] = await Promise.all([
    startStack({
      users: { alice: alice.password },
      config: {
        http: {
          cors: { allowedorigins: [UI, 'https://ui.example.com'] },
          // http.cors decides for Access-Control-*; other configured headers stay.
          headers: { 'X-Content-Type-Options': ['nosniff'], 'Access-Control-Allow-Origin': ['*'] },
        },
      },
    }),
    // registry:2's way, as Joxit's README tells: only http.headers.
    startStack({
      users: { alice: alice.password },
      config: {
        http: {
          headers: {
            'Access-Control-Allow-Origin': [UI],
            'Access-Control-Allow-Credentials': ['true'],
            'Access-Control-Allow-Methods': ['HEAD', 'GET', 'OPTIONS', 'DELETE'],
            'Access-Control-Allow-Headers': ['Authorization', 'Accept'],
          },
        },
      },
    }),
  ]);
});
test.after.always(async () => {
  await Promise.all([stack?.close(), legacy?.close()]);
});

const preflight = (origin: string, method = 'DELETE', headers = 'accept,authorization') => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
});

test('a preflight is answered 204 before auth, with methods, headers and max-age for an allowed origin', async (t) => {
  for (const path of ['/v2/team/app/manifests/v1', '/v2/_catalog', '/v2/team/app/blobs/uploads/']) {
    const res = await request(`${stack.gatewayUrl}${path}`, preflight(UI));
    t.is(res.status, 204, path);
    t.is(res.headers['access-control-allow-origin'], UI);
    t.is(res.headers['access-control-allow-credentials'], 'true');
    for (const method of ['GET', 'HEAD', 'DELETE', 'POST', 'PUT', 'PATCH']) t.regex(String(res.headers['access-control-allow-methods']), new RegExp(`\\b${method}\\b`));
    for (const header of ['Authorization', 'Accept', 'Content-Type', 'Range']) t.regex(String(res.headers['access-control-allow-headers']), new RegExp(`\\b${header}\\b`));
    t.is(res.headers['access-control-max-age'], String(CORS_MAX_AGE_SECONDS));
    t.is(res.headers['www-authenticate'], undefined, 'no challenge on a preflight');
    t.regex(String(res.headers.vary), /Origin/);
  }
});

test('the allowed origin is echoed with credentials on 401s, errors and proxied answers, and headers are exposed', async (t) => {
  const unauthorized = await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { origin: UI } });
  t.is(unauthorized.status, 401);
  t.is(unauthorized.headers['access-control-allow-origin'], UI);
  t.is(unauthorized.headers['access-control-allow-credentials'], 'true');
  t.regex(String(unauthorized.headers['www-authenticate']), /^Basic /);
  for (const header of ['Docker-Content-Digest', 'Link', 'Location']) t.regex(String(unauthorized.headers['access-control-expose-headers']), new RegExp(header));

  const proxied = await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { origin: 'https://ui.example.com' }, basicAuth: alice });
  t.is(proxied.status, 200);
  t.is(proxied.headers['access-control-allow-origin'], 'https://ui.example.com');
  t.is(proxied.headers['access-control-allow-credentials'], 'true');

  const missing = await request(`${stack.gatewayUrl}/v2/team/none/manifests/v1`, { headers: { origin: UI }, basicAuth: alice });
  t.is(missing.status, 404);
  t.is(missing.headers['access-control-allow-origin'], UI);
  t.is(missing.headers['x-content-type-options'], 'nosniff', 'other http.headers stay');
});

test('another origin gets no CORS header at all, not even the http.headers ones, and its preflight needs credentials like any request', async (t) => {
  for (const origin of ['https://evil.example', 'http://127.0.0.1:8001', 'null']) {
    const res = await request(`${stack.gatewayUrl}/v2/_catalog`, { headers: { origin }, basicAuth: alice });
    t.is(res.status, 200);
    t.false(Object.keys(res.headers).some((name) => name.startsWith('access-control-')), origin);
    const pre = await request(`${stack.gatewayUrl}/v2/team/app/manifests/v1`, preflight(origin));
    t.is(pre.status, 401);
    t.false(Object.keys(pre.headers).some((name) => name.startsWith('access-control-')), origin);
  }
  const none = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: alice });
  t.is(none.headers['access-control-allow-origin'], undefined);
});

test('an OPTIONS that is not a preflight still needs credentials', async (t) => {
  const res = await request(`${stack.gatewayUrl}/v2/team/app/manifests/v1`, { method: 'OPTIONS', headers: { origin: UI } });
  t.is(res.status, 401);
  t.is(res.headers['access-control-allow-origin'], UI);
});

test('without http.cors, the Access-Control headers of http.headers work as with registry:2, and preflights pass auth', async (t) => {
  const pre = await request(`${legacy.gatewayUrl}/v2/team/app/manifests/v1`, preflight(UI));
  t.is(pre.status, 204, 'registry:2 answers 401 here (distribution #4458)');
  t.is(pre.headers['access-control-allow-origin'], UI);
  t.is(pre.headers['access-control-allow-methods'], 'HEAD, GET, OPTIONS, DELETE');
  const unauthorized = await request(`${legacy.gatewayUrl}/v2/_catalog`, { headers: { origin: UI } });
  t.is(unauthorized.status, 401);
  t.is(unauthorized.headers['access-control-allow-origin'], UI);
  t.is(unauthorized.headers['access-control-allow-credentials'], 'true');
});

test('the UI\'s own /ui/ routes never get CORS headers', async (t) => {
  const res = await request(`${stack.gatewayUrl}/ui/api/session`, { headers: { origin: UI } });
  t.is(res.headers['access-control-allow-origin'], undefined);
});

test('http.cors.allowedorigins: a list or REGISTRY_HTTP_CORS_ALLOWEDORIGINS comma-separated; "*" and paths refused', (t) => {
  const { config } = loadConfig({ env: { REGISTRY_HTTP_CORS_ALLOWEDORIGINS: 'http://127.0.0.1:8000, https://UI.example.com' } });
  t.deepEqual(config.http.cors.allowedorigins, ['http://127.0.0.1:8000', 'https://ui.example.com']);
  t.deepEqual(loadConfig({ env: {} }).config.http.cors.allowedorigins, []);
  t.true(loadConfig({ env: {} }).config.ui.enabled, 'the UI is on by default');
  t.false(loadConfig({ env: { REGISTRY_UI_ENABLED: 'false' } }).config.ui.enabled);
  for (const bad of ['*', 'https://ui.example.com/path', 'ui.example.com', 'ftp://x']) {
    const error = t.throws(() => loadConfig({ env: { REGISTRY_HTTP_CORS_ALLOWEDORIGINS: bad } }), { instanceOf: ConfigError });
    t.regex(error!.message, /REGISTRY_HTTP_CORS_ALLOWEDORIGINS/, bad);
  }
});

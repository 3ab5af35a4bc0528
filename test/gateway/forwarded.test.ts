// Forwarded headers are believed only from http.trustedproxies: the real client address (logs,
// login throttling) and the external scheme/host (storage's Location URLs) follow from them.
import test from 'ava';
import { resolveClient } from '../../gateway/client-info.js';
import { compileTrust } from '../../gateway/trust.js';
import { request } from './helpers/http-client.js';
import { startStack, type Stack } from './helpers/stack.js';

const conn = (headers: Record<string, string>, peerAddress = '10.0.0.1', encrypted = false) => ({
  peerAddress,
  encrypted,
  headers: { host: 'registry.internal:5000', ...headers },
});

test('an untrusted peer\'s forwarded headers are all ignored', (t) => {
  const trust = compileTrust([]);
  const info = resolveClient(
    conn({
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-real-ip': '203.0.113.10',
      forwarded: 'for=203.0.113.11;proto=https;host=evil.example',
    }),
    trust,
  );
  t.deepEqual(info, { address: '10.0.0.1', peerTrusted: false, proto: 'http', host: 'registry.internal:5000' });
});

test('a trusted peer\'s X-Forwarded-For/-Proto/-Host are believed', (t) => {
  const trust = compileTrust(['10.0.0.1']);
  const info = resolveClient(
    conn({ 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'registry.example.com' }),
    trust,
  );
  t.deepEqual(info, { address: '203.0.113.9', peerTrusted: true, proto: 'https', host: 'registry.example.com' });
});

test('a client cannot smuggle an address past the trusted proxy (X-Forwarded-For is read from the right)', (t) => {
  const trust = compileTrust(['10.0.0.1']);
  // nginx's $proxy_add_x_forwarded_for appends the real address to whatever the client sent.
  const info = resolveClient(conn({ 'x-forwarded-for': '127.0.0.1, 198.51.100.7', 'x-forwarded-proto': 'https' }), trust);
  t.is(info.address, '198.51.100.7');
  t.is(info.proto, 'https');
});

test('a chain of trusted proxies is walked to the first untrusted address', (t) => {
  const trust = compileTrust(['10.0.0.0/8']);
  const info = resolveClient(conn({ 'x-forwarded-for': '203.0.113.1, 198.51.100.7, 10.1.2.3' }), trust);
  t.is(info.address, '198.51.100.7');
});

test('X-Real-IP is used when a trusted proxy sends no X-Forwarded-For', (t) => {
  const trust = compileTrust(['10.0.0.1']);
  t.is(resolveClient(conn({ 'x-real-ip': '198.51.100.8' }), trust).address, '198.51.100.8');
  t.is(resolveClient(conn({ 'x-real-ip': 'not-an-ip' }), trust).address, '10.0.0.1');
});

test('RFC 7239 Forwarded: for, proto and host, IPv6 with port, obfuscated identifiers', (t) => {
  const trust = compileTrust(['10.0.0.1']);
  t.deepEqual(resolveClient(conn({ forwarded: 'for=192.0.2.60;proto=https;host=registry.example.com' }), trust), {
    address: '192.0.2.60',
    peerTrusted: true,
    proto: 'https',
    host: 'registry.example.com',
  });
  t.is(resolveClient(conn({ forwarded: 'for="[2001:db8:cafe::17]:4711";proto=http' }), trust).address, '2001:db8:cafe::17');
  t.is(resolveClient(conn({ forwarded: 'for="192.0.2.61:8080"' }), trust).address, '192.0.2.61');
  // "for=_hidden" says nothing usable: the proxy's own address stands.
  t.is(resolveClient(conn({ forwarded: 'for=_hidden;proto=https' }), trust).address, '10.0.0.1');
  // Several hops: the client's element is the first untrusted one, with its own proto and host.
  const chain = resolveClient(
    conn({ forwarded: 'for=198.51.100.1;proto=https;host=outer.example, for=10.0.0.5;proto=http;host=inner' }),
    compileTrust(['10.0.0.0/8']),
  );
  t.deepEqual([chain.address, chain.proto, chain.host], ['198.51.100.1', 'https', 'outer.example']);
  // A malformed Forwarded says nothing.
  t.is(resolveClient(conn({ forwarded: 'for=;;;==', 'x-real-ip': '192.0.2.63' }), trust).address, '192.0.2.63');
  t.is(resolveClient(conn({ forwarded: 'for=;;;==' }), trust).address, '10.0.0.1');
});

test('a client\'s own Forwarded, passed on by a proxy that writes X-Forwarded-For, is not believed', (t) => {
  // nginx-compat/registry.conf before issue 7: nginx appends to X-Forwarded-For, sets X-Real-IP,
  // and passes the client's Forwarded through untouched.
  const trust = compileTrust(['10.0.0.1']);
  const spoofed = conn({
    forwarded: 'for=192.0.2.99;proto=https;host=evil.example',
    'x-forwarded-for': '198.51.100.7',
    'x-real-ip': '198.51.100.7',
    'x-forwarded-proto': 'http',
  });
  t.deepEqual(resolveClient(spoofed, trust), { address: '198.51.100.7', peerTrusted: true, proto: 'http', host: 'registry.internal:5000' });
  // The same with only X-Real-IP written by the proxy.
  t.is(resolveClient(conn({ forwarded: 'for=192.0.2.99', 'x-real-ip': '198.51.100.8' }), trust).address, '198.51.100.8');
});

test('X-Forwarded-Proto/-Host: the nearest proxy\'s value (the last one) is believed, not the client\'s first', (t) => {
  const trust = compileTrust(['10.0.0.1']);
  const info = resolveClient(
    conn({ 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'evil.example, registry.example.com' }),
    trust,
  );
  t.deepEqual([info.proto, info.host], ['http', 'registry.example.com']);
});

test('odd values are not believed: non-http schemes, hosts with spaces or paths, IPv4-mapped peers are normalised', (t) => {
  const trust = compileTrust(['127.0.0.1']);
  const info = resolveClient(
    conn({ 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example/path' }, '::ffff:127.0.0.1', true),
    trust,
  );
  t.deepEqual(info, { address: '127.0.0.1', peerTrusted: true, proto: 'https', host: 'registry.internal:5000' });
});

test('http.host overrides the external scheme and host, whoever asks', (t) => {
  const info = resolveClient(
    conn({ 'x-forwarded-proto': 'http', 'x-forwarded-host': 'other' }),
    compileTrust(['10.0.0.1']),
    new URL('https://registry.example.com:8443'),
  );
  t.is(info.proto, 'https');
  t.is(info.host, 'registry.example.com:8443');
});

test('invalid trusted proxy settings are refused with the setting named', (t) => {
  t.throws(() => compileTrust(['not-an-address']), { message: /^http\.trustedproxies: / });
});

// The same rules end to end, through the gateway to the real storage. 127.0.0.2 plays the
// trusted proxy; 127.0.0.1 is an ordinary client.
let stack: Stack;
test.before(async () => {
  stack = await startStack({ users: { alice: 's3cret' }, config: { http: { trustedproxies: ['127.0.0.2'] } } });
});
test.after.always(async () => {
  await stack?.close();
});

const alice = { user: 'alice', password: 's3cret' };
const spoof = {
  'x-forwarded-for': '203.0.113.9',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'registry.example.com',
  'x-request-id': 'proxy-chosen-id-1',
};

function startUpload(headers: Record<string, string>, localAddress: string) {
  return request(`${stack.gatewayUrl}/v2/probe/fwd/blobs/uploads/`, {
    method: 'POST',
    basicAuth: alice,
    localAddress,
    headers: { host: 'gateway.local:5000', 'content-length': '0', ...headers },
  });
}

function accessLine(requestId: string) {
  return stack.gatewayLogs.lines().find((line) => line.msg === 'request' && line.requestId === requestId);
}

test.serial('from an untrusted client, forwarded headers change nothing (log, Location, request id)', async (t) => {
  const res = await startUpload(spoof, '127.0.0.1');
  t.is(res.status, 202);
  t.true(String(res.headers.location).startsWith('http://gateway.local:5000/v2/probe/fwd/blobs/uploads/'));
  const requestId = String(res.headers['x-request-id']);
  t.not(requestId, 'proxy-chosen-id-1');
  t.like(accessLine(requestId), { client: '127.0.0.1', user: 'alice', status: 202 });
});

test.serial('from the trusted proxy, they give the client address, the external URL and the request id', async (t) => {
  const res = await startUpload({ ...spoof, 'x-request-id': 'proxy-chosen-id-2' }, '127.0.0.2');
  t.is(res.status, 202);
  t.true(String(res.headers.location).startsWith('https://registry.example.com/v2/probe/fwd/blobs/uploads/'));
  t.is(res.headers['x-request-id'], 'proxy-chosen-id-2');
  t.like(accessLine('proxy-chosen-id-2'), { client: '203.0.113.9', user: 'alice' });
  // Storage logged the same request under the same id.
  t.truthy(stack.storageLogs.lines().find((line) => line.reqId === 'proxy-chosen-id-2'));
});

test.serial('RFC 7239 Forwarded from the trusted proxy works the same', async (t) => {
  const res = await startUpload(
    { forwarded: 'for="[2001:db8::7]:5555";proto=https;host="registry.example.org:8443"', 'x-request-id': 'fwd-7239' },
    '127.0.0.2',
  );
  t.is(res.status, 202);
  t.true(String(res.headers.location).startsWith('https://registry.example.org:8443/v2/probe/fwd/blobs/uploads/'));
  t.like(accessLine('fwd-7239'), { client: '2001:db8::7' });
});

test.serial('login throttling applies to the real client behind the proxy, not to the proxy', async (t) => {
  const viaProxy = (clientIp: string, password: string) =>
    request(`${stack.gatewayUrl}/v2/`, {
      basicAuth: { user: 'alice', password },
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-for': clientIp },
    });
  let res = await viaProxy('198.51.100.66', 'wrong-0');
  for (let i = 1; i <= 30 && res.status === 401; i++) res = await viaProxy('198.51.100.66', `wrong-${i}`);
  t.is(res.status, 429);
  // Another client behind the same proxy still logs in.
  t.is((await viaProxy('198.51.100.67', 's3cret')).status, 200);
});

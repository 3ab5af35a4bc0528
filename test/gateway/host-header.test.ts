// A malformed Host is refused with 400 and an OCI error body; a Location never carries a host
// an untrusted peer chose through X-Forwarded-Host or Forwarded.
import test from 'ava';
import { isValidHost } from '../../gateway/middleware/host-header.js';
import { rawExchange, request } from './helpers/http-client.js';
import { startStack, type Stack } from './helpers/stack.js';

const alice = { user: 'alice', password: 's3cret' };
let stack: Stack;
test.before(async () => {
  stack = await startStack({ users: { alice: alice.password } });
});
test.after.always(async () => {
  await stack?.close();
});

/** Sends `head` as it is and returns the raw answer. */
function raw(head: string): Promise<string> {
  return rawExchange(stack.gatewayUrl, head);
}

const BAD_HOSTS = [
  'alice:pw@registry.example',
  'evil.example@registry.example',
  'registry.example:99999',
  'registry.example:0',
  'registry.example:http',
  'registry.example:',
  'registry.example/path',
  'registry.example?x',
  'registry.example#x',
  `${'a'.repeat(300)}.example`,
  '[not-ipv6]:5000',
  '::1',
  'two words',
  '"quoted"',
  'a,b',
];

test('malformed Host values are refused with 400 and an OCI error body, before auth', async (t) => {
  for (const host of BAD_HOSTS) {
    const answer = await raw(`GET /v2/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    t.regex(answer, /^HTTP\/1\.1 400 /, host);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    t.deepEqual(JSON.parse(body), { errors: [{ code: 'UNSUPPORTED', message: 'invalid Host header', detail: null }] }, host);
  }
  // Also with garbage bytes, and on a push.
  const garbage = await raw(`POST /v2/probe/h/blobs/uploads/ HTTP/1.1\r\nHost: \xff\xfe%00\r\nContent-Length: 0\r\n\r\n`);
  t.regex(garbage, /^HTTP\/1\.1 400 /);
});

test('good Host values pass', async (t) => {
  for (const host of ['registry.example', 'registry.example:5000', 'docker_registry:5000', '127.0.0.1:5000', '[::1]:5000', '[2001:db8::1]', 'localhost']) {
    t.true(isValidHost(host), host);
    const res = await request(`${stack.gatewayUrl}/v2/`, { basicAuth: alice, headers: { host } });
    t.is(res.status, 200, host);
  }
});

test('a Location never carries a host an untrusted peer put in X-Forwarded-Host or Forwarded', async (t) => {
  const spoofs: Array<Record<string, string>> = [
    { 'x-forwarded-host': 'evil.example' },
    { forwarded: 'for=192.0.2.1;host=evil.example;proto=https' },
    { 'x-forwarded-host': 'evil.example', 'x-forwarded-for': '192.0.2.1', 'x-forwarded-proto': 'https' },
  ];
  for (const spoof of spoofs) {
    const res = await request(`${stack.gatewayUrl}/v2/probe/host/blobs/uploads/`, {
      method: 'POST',
      basicAuth: alice,
      headers: { host: 'registry.local:5000', 'content-length': '0', ...spoof },
    });
    t.is(res.status, 202);
    t.true(String(res.headers.location).startsWith('http://registry.local:5000/v2/probe/host/blobs/uploads/'), String(res.headers.location));
  }
});

test('an empty Host is refused, and an HTTP/1.0 request without Host gets a Location that is not storage\'s address', async (t) => {
  const credentials = `Basic ${Buffer.from(`${alice.user}:${alice.password}`).toString('base64')}`;
  const empty = await raw(`POST /v2/probe/empty/blobs/uploads/ HTTP/1.1\r\nHost: \r\nAuthorization: ${credentials}\r\nContent-Length: 0\r\n\r\n`);
  t.regex(empty, /^HTTP\/1\.1 400 /);
  // HTTP/1.0 may omit Host: storage then saw no forwarded host and built the Location from its own.
  const noHost = await raw(`POST /v2/probe/empty/blobs/uploads/ HTTP/1.0\r\nAuthorization: ${credentials}\r\nContent-Length: 0\r\n\r\n`);
  t.regex(noHost, /^HTTP\/1\.1 202 /);
  const location = /\r\nlocation: ([^\r]*)/i.exec(noHost)?.[1] ?? '';
  t.true(location.startsWith('/v2/probe/empty/blobs/uploads/'), location);
  t.false(location.includes(new URL(stack.storageUrl).host), location);
});

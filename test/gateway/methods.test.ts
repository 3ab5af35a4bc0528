// Methods no registry route serves get a 4xx with an OCI error body through the gateway: never a
// 5xx (storage's router said 501 to PROPFIND or TRACE) and never a connection closed unanswered
// (Node's default for CONNECT).
import test from 'ava';
import { rawExchange } from './helpers/http-client.js';
import { startStack, type Stack } from './helpers/stack.js';

const alice = { user: 'alice', password: 's3cret' };
const credentials = `Basic ${Buffer.from(`${alice.user}:${alice.password}`).toString('base64')}`;
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

function parse(answer: string): { status: number; headers: Record<string, string>; body: string } {
  const end = answer.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = answer.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
  return { status: Number(statusLine!.split(' ')[1]), headers, body: answer.slice(end + 4) };
}

for (const [label, target, auth] of [
  ['a /v2 path, with credentials', '/v2/team/app/manifests/v1', true],
  ['an authority, without credentials', 'registry.example:443', false],
] as const) {
  test(`CONNECT to ${label} is answered 405 with an OCI body, then the connection closes`, async (t) => {
    const answer = await raw(`CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth ? `Authorization: ${credentials}\r\n` : ''}\r\n`);
    t.not(answer, '', 'an answer, not a silent close');
    const { status, headers, body } = parse(answer);
    t.is(status, 405);
    t.is(headers['content-type'], 'application/json; charset=utf-8');
    t.is((JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNSUPPORTED');
    t.is(headers.connection, 'close');
  });
}

for (const method of ['PROPFIND', 'TRACE']) {
  test(`${method} on a manifest is 405 with Allow through the gateway, not a logged 5xx`, async (t) => {
    const answer = await raw(`${method} /v2/team/app/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${credentials}\r\nConnection: close\r\n\r\n`);
    const { status, headers, body } = parse(answer);
    t.is(status, 405);
    t.regex(headers.allow ?? '', /\bGET\b.*\bPUT\b/);
    t.is((JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNSUPPORTED');
    t.false(stack.storageLogs.lines().some((line) => Number(line.level) >= 50), 'nothing logged at error level');
  });
}

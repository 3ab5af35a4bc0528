// A manifest PUT over 4 MiB is answered 413 SIZE_INVALID by the gateway before storage sees it,
// with and without Content-Length; manifests under the limit, chunked or not, still go through.
import test from 'ava';
import http from 'node:http';
import { MAX_MANIFEST_BYTES as GATEWAY_LIMIT } from '../../gateway/middleware/manifest-size.js';
import { MAX_MANIFEST_BYTES as STORAGE_LIMIT } from '../../storage/registry/manifest-parser.js';
import { request, type TestResponse } from './helpers/http-client.js';
import { basicAuth, RegistryClient } from '../helpers/storage-http.js';
import { startStack, type Stack } from './helpers/stack.js';

const alice = { user: 'alice', password: 's3cret' };
const authorization = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
let stack: Stack;
let manifestOf: (paddingBytes: number) => Buffer;

test.before(async () => {
  stack = await startStack({ users: { alice: alice.password } });
  const config = Buffer.from('{}');
  const { digest } = await new RegistryClient(stack.gatewayUrl, basicAuth(alice.user, alice.password)).uploadBlob('probe/big', config);
  manifestOf = (paddingBytes) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.length },
        layers: [],
        annotations: { padding: 'x'.repeat(paddingBytes) },
      }),
    );
});
test.after.always(async () => {
  await stack?.close();
});

/** A PUT whose body goes in 64 KiB chunks with Transfer-Encoding: chunked (no Content-Length). */
function putChunked(path: string, body: Buffer): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.gatewayUrl}${path}`, {
      method: 'PUT',
      agent: false,
      headers: { authorization, 'content-type': MEDIA_TYPE, 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const all = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, text: all.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    let offset = 0;
    const writeMore = (): void => {
      while (offset < body.length) {
        const chunk = body.subarray(offset, offset + 65536);
        offset += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

function storageSaw(path: string): boolean {
  return stack.storageLogs.lines().some((line) => line.msg === 'request' && line.path === path);
}

function assertTooLarge(t: import('ava').ExecutionContext, res: TestResponse): void {
  t.is(res.status, 413);
  t.deepEqual(JSON.parse(res.text), { errors: [{ code: 'SIZE_INVALID', message: `manifest exceeds ${GATEWAY_LIMIT} bytes`, detail: null }] });
}

test('the gateway\'s limit is storage\'s', (t) => {
  t.is(GATEWAY_LIMIT, STORAGE_LIMIT);
});

test('a 15 MB manifest with Content-Length gets 413 from the gateway; storage never sees it', async (t) => {
  const path = '/v2/probe/big/manifests/with-length';
  const res = await request(`${stack.gatewayUrl}${path}`, {
    method: 'PUT',
    basicAuth: alice,
    headers: { 'content-type': MEDIA_TYPE },
    body: manifestOf(15_000_000),
  });
  assertTooLarge(t, res);
  t.false(storageSaw(path));
});

test('a 15 MB chunked manifest gets 413 once 4 MiB have passed; nothing is stored', async (t) => {
  const path = '/v2/probe/big/manifests/chunked';
  const res = await putChunked(path, manifestOf(15_000_000));
  assertTooLarge(t, res);
  const get = await request(`${stack.gatewayUrl}${path}`, { basicAuth: alice, headers: { accept: MEDIA_TYPE } });
  t.is(get.status, 404);
  // The gateway logged the 413, and no 5xx anywhere.
  const lines = stack.gatewayLogs.lines().filter((line) => line.msg === 'request' && line.path === path);
  t.deepEqual(lines.map((line) => line.status), [413, 404]);
});

test('manifests under the limit still go through, chunked or not', async (t) => {
  const body = manifestOf(3 * 1024 * 1024);
  const chunked = await putChunked('/v2/probe/big/manifests/fits-chunked', body);
  t.is(chunked.status, 201, chunked.text);
  const withLength = await request(`${stack.gatewayUrl}/v2/probe/big/manifests/fits`, {
    method: 'PUT',
    basicAuth: alice,
    headers: { 'content-type': MEDIA_TYPE },
    body,
  });
  t.is(withLength.status, 201, withLength.text);
  const get = await request(`${stack.gatewayUrl}/v2/probe/big/manifests/fits-chunked`, { basicAuth: alice, headers: { accept: MEDIA_TYPE } });
  t.true(get.body.equals(body));
});

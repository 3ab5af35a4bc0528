// Configuration that changes answers: the internal token, read-only mode, relative and absolute
// Location headers (http.relativeurls, http.host, X-Forwarded-Proto/Host); and what every answer
// shares: the API version header and OCI error bodies, unknown endpoints and methods included.
import test from 'ava';
import { INTERNAL_TOKEN_HEADER } from '../../common/internal-headers.js';
import { assertApiVersion, assertOciError } from '../helpers/storage-assert.js';
import { MEDIA, pushImage, uniqueBlob } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256, withQuery, locationPath } from '../helpers/storage-http.js';
import { listTree, startStorage, type TestStorage } from '../helpers/storage-server.js';

const opened: TestStorage[] = [];

async function open(options: Parameters<typeof startStorage>[0] = {}): Promise<TestStorage> {
  const storage = await startStorage(options);
  opened.push(storage);
  return storage;
}

test.after.always(async () => {
  for (const storage of opened.reverse()) await storage.close();
});

test('with an internal token, every request without it is 403 DENIED', async (t) => {
  const token = 'a-long-internal-token-0123456789';
  const storage = await open({ config: { storageservice: { token }, storage: { delete: { enabled: true } } } });
  const anonymous = new RegistryClient(storage.url);
  const digest = sha256('x');
  const requests: Array<[string, string]> = [
    ['GET', '/v2/'],
    ['GET', '/v2/_catalog'],
    ['POST', '/v2/tok/repo/blobs/uploads/'],
    ['GET', `/v2/tok/repo/blobs/${digest}`],
    ['PUT', '/v2/tok/repo/manifests/v1'],
    ['DELETE', `/v2/tok/repo/manifests/${digest}`],
    ['GET', '/v2/tok/repo/tags/list'],
    ['GET', '/no/such/endpoint'],
  ];
  for (const [method, path] of requests) {
    assertOciError(t, await anonymous.send(path, { method }), 403, 'DENIED', `${method} ${path} without a token`);
    const wrong = await anonymous.send(path, { method, headers: { [INTERNAL_TOKEN_HEADER]: `${token}x` } });
    assertOciError(t, wrong, 403, 'DENIED', `${method} ${path} with a wrong token`);
    const short = await anonymous.send(path, { method, headers: { [INTERNAL_TOKEN_HEADER]: token.slice(0, 5) } });
    assertOciError(t, short, 403, 'DENIED', `${method} ${path} with a prefix of the token`);
  }
  t.deepEqual(await listTree(storage.root), [], 'nothing was written');

  const gateway = new RegistryClient(storage.url, { [INTERNAL_TOKEN_HEADER]: token });
  t.is((await gateway.send('/v2/')).status, 200);
  const image = await pushImage(gateway, 'tok/repo', { tag: 'v1' });
  t.true((await gateway.getManifest('tok/repo', 'v1')).body.equals(image.manifest));
});

test('http.secret is the internal token when storageservice.token is not set', async (t) => {
  const storage = await open({ config: { http: { secret: 'shared-http-secret' } } });
  assertOciError(t, await new RegistryClient(storage.url).send('/v2/'), 403, 'DENIED');
  t.is((await new RegistryClient(storage.url, { [INTERNAL_TOKEN_HEADER]: 'shared-http-secret' }).send('/v2/')).status, 200);
});

test('read-only mode serves what is there and refuses every write with 405 UNSUPPORTED', async (t) => {
  const writable = await open({ config: { storage: { delete: { enabled: true } } } });
  const image = await pushImage(new RegistryClient(writable.url), 'ro/app', { tag: 'v1' });
  const session = await new RegistryClient(writable.url).startUpload('ro/app');
  await writable.stop();

  const readOnly = await open({
    root: writable.root,
    config: { storage: { delete: { enabled: true }, maintenance: { readonly: { enabled: true } } } },
  });
  const client = new RegistryClient(readOnly.url);
  t.true((await client.getManifest('ro/app', 'v1')).body.equals(image.manifest));
  t.true((await client.getBlob('ro/app', sha256(image.layers[0]!))).body.equals(image.layers[0]!));
  t.is((await client.getManifest('ro/app', image.digest, 'HEAD')).status, 200);
  t.deepEqual(await client.tags('ro/app'), ['v1']);
  t.true((await client.catalog()).includes('ro/app'));
  t.is((await client.send(session)).status, 204, 'upload status is a read');

  const layer = uniqueBlob(100);
  const writes: Array<[string, string, Buffer | undefined]> = [
    ['POST', '/v2/ro/app/blobs/uploads/', undefined],
    ['POST', `/v2/ro/app/blobs/uploads/?digest=${sha256(layer)}`, layer],
    ['PATCH', session, layer],
    ['PUT', withQuery(session, 'digest', sha256(layer)), layer],
    ['DELETE', session, undefined],
    ['PUT', '/v2/ro/app/manifests/v2', image.manifest],
    ['DELETE', `/v2/ro/app/manifests/${image.digest}`, undefined],
    ['DELETE', '/v2/ro/app/manifests/v1', undefined],
    ['DELETE', `/v2/ro/app/blobs/${sha256(image.layers[0]!)}`, undefined],
  ];
  for (const [method, path, body] of writes) {
    const res = await client.send(path, { method, body, headers: method === 'PUT' && path.includes('manifests') ? { 'content-type': MEDIA.ociManifest } : {} });
    assertOciError(t, res, 405, 'UNSUPPORTED', `${method} ${path}`);
  }
  t.deepEqual(await client.tags('ro/app'), ['v1'], 'nothing changed');
  t.true((await client.getManifest('ro/app', 'v1')).body.equals(image.manifest));
  t.is((await client.send(session)).status, 204, 'the session is still there');
});

test('Location is absolute from Host by default, and from X-Forwarded-Proto/Host when given', async (t) => {
  const storage = await open();
  const client = new RegistryClient(storage.url);
  const plain = await client.send('/v2/loc/app/blobs/uploads/', { method: 'POST' });
  t.regex(plain.header('location'), new RegExp(`^${storage.url}/v2/loc/app/blobs/uploads/[A-Za-z0-9_-]+`));

  const host = await client.send('/v2/loc/app/blobs/uploads/', { method: 'POST', headers: { host: 'registry.example.com:5000' } });
  t.regex(host.header('location'), /^http:\/\/registry\.example\.com:5000\/v2\/loc\/app\/blobs\/uploads\//);

  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'docker-registry.home' };
  const started = await client.send('/v2/loc/app/blobs/uploads/', { method: 'POST', headers: forwarded });
  t.regex(started.header('location'), /^https:\/\/docker-registry\.home\/v2\/loc\/app\/blobs\/uploads\//);
  const data = uniqueBlob(10);
  const patched = await client.send(locationPath(started.header('location')), { method: 'PATCH', body: data, headers: forwarded });
  t.regex(patched.header('location'), /^https:\/\/docker-registry\.home\/v2\/loc\/app\/blobs\/uploads\//);
  const done = await client.send(withQuery(locationPath(patched.header('location')), 'digest', sha256(data)), { method: 'PUT', headers: forwarded });
  t.is(done.header('location'), `https://docker-registry.home/v2/loc/app/blobs/${sha256(data)}`);

  const listed = await client.send('/v2/loc/app/blobs/uploads/', {
    method: 'POST',
    headers: { 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'first.example, second.example' },
  });
  t.regex(listed.header('location'), /^https:\/\/first\.example\/v2\//, 'the first (client-side) value wins');
});

test('http.relativeurls gives relative Locations, whatever the headers', async (t) => {
  const storage = await open({ config: { http: { relativeurls: true } } });
  const client = new RegistryClient(storage.url);
  const started = await client.send('/v2/rel/app/blobs/uploads/', { method: 'POST', headers: { 'x-forwarded-host': 'ignored.example' } });
  t.regex(started.header('location'), /^\/v2\/rel\/app\/blobs\/uploads\/[A-Za-z0-9_-]+/);
  const image = await pushImage(client, 'rel/app');
  const res = await client.putManifest('rel/app', 'v1', image.manifest, MEDIA.ociManifest);
  t.is(res.header('location'), `/v2/rel/app/manifests/${image.digest}`);
  const blob = uniqueBlob(5);
  const mono = await client.send(`/v2/rel/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
  t.is(mono.header('location'), `/v2/rel/app/blobs/${sha256(blob)}`);
});

test('http.host sets the base of absolute Locations', async (t) => {
  const storage = await open({ config: { http: { host: 'https://registry.example.com:8443/' } } });
  const client = new RegistryClient(storage.url);
  const started = await client.send('/v2/hosted/app/blobs/uploads/', { method: 'POST', headers: { 'x-forwarded-host': 'other.example' } });
  t.regex(started.header('location'), /^https:\/\/registry\.example\.com:8443\/v2\/hosted\/app\/blobs\/uploads\//);
  const image = await pushImage(client, 'hosted/app');
  const res = await client.putManifest('hosted/app', 'v1', image.manifest, MEDIA.ociManifest);
  t.is(res.header('location'), `https://registry.example.com:8443/v2/hosted/app/manifests/${image.digest}`);
});

test('unknown endpoints are 404 and wrong methods 405, both with OCI bodies', async (t) => {
  const storage = await open();
  const client = new RegistryClient(storage.url);
  for (const path of ['/', '/v1/_ping', '/v2/app/unknown/thing', '/v2/app/blobs/', '/v3/']) {
    const res = await client.send(path);
    t.is(res.status, 404, path);
    assertOciError(t, res, 404, res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, path);
  }
  for (const [method, path] of [
    ['POST', '/v2/app/manifests/latest'],
    ['PATCH', '/v2/app/manifests/latest'],
    ['POST', '/v2/_catalog'],
    ['PUT', `/v2/app/blobs/${sha256('x')}`],
    ['DELETE', '/v2/app/tags/list'],
  ] as const) {
    const res = await client.send(path, { method });
    assertOciError(t, res, 405, 'UNSUPPORTED', `${method} ${path}`);
  }
});

test('every kind of answer carries Docker-Distribution-API-Version', async (t) => {
  const storage = await open({ config: { storage: { delete: { enabled: true } } } });
  const client = new RegistryClient(storage.url);
  const image = await pushImage(client, 'hdr/app', { tag: 'v1' });
  const layer = sha256(image.layers[0]!);
  const session = await client.startUpload('hdr/app');
  const requests: Array<[string, string, string?]> = [
    ['GET', '/v2/'],
    ['HEAD', '/v2/'],
    ['GET', '/v2/_catalog'],
    ['GET', '/v2/hdr/app/tags/list'],
    ['GET', '/v2/hdr/app/manifests/v1'],
    ['HEAD', '/v2/hdr/app/manifests/v1'],
    ['GET', '/v2/hdr/app/manifests/nope'],
    ['HEAD', '/v2/hdr/app/manifests/nope'],
    ['GET', `/v2/hdr/app/blobs/${layer}`],
    ['HEAD', `/v2/hdr/app/blobs/${layer}`],
    ['GET', `/v2/hdr/app/blobs/${sha256('none')}`],
    ['GET', `/v2/hdr/app/referrers/${image.digest}`],
    ['GET', session],
    ['PATCH', session, 'abc'],
    ['PUT', withQuery(session, 'digest', sha256('wrong'))],
    ['POST', '/v2/hdr/app/blobs/uploads/'],
    ['DELETE', '/v2/hdr/app/manifests/v1'],
    ['GET', '/v2/BAD/tags/list'],
    ['GET', '/elsewhere'],
  ];
  for (const [method, path, body] of requests) {
    const res = await client.send(path, { method, body });
    assertApiVersion(t, res);
    t.true(res.status < 500, `${method} ${path}: ${res.status}`);
  }
});

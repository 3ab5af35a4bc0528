// The pull-through cache, end to end with local upstreams and no internet: `registry start` with
// REGISTRY_PROXY_REMOTEURL (registry:2's single upstream, a docker-registry with htpasswd) and
// REGISTRY_PROXY_REMOTES (ghcr.io/ -> a registry behind the Docker token flow). skopeo pulls
// through it; digests match; pushes are refused; containerd's ?ns= picks the upstream; tags are
// asked again after ttl; a stopped upstream still serves what is cached; a client that goes away
// mid-blob and an upstream that sends wrong bytes leave no blob behind.
import test from 'ava';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../e2e/helpers/run.js';
import { buildOciLayout, seededBytes, type BuiltImage } from '../helpers/oci-image.js';
import { basicAuth, prepareRegistry, RegistryProcess } from '../helpers/registry-process.js';
import { startDistribution, type Distribution } from '../helpers/storage-distribution.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { listTree } from '../helpers/storage-server.js';
import { waitFor } from '../helpers/wait.js';
import { FRONT_PASSWORD, FRONT_USER, startTokenFront, type TokenFront } from './upstreams.js';

let dir: string;
let hub: Distribution; // the default upstream (registry:2 with htpasswd)
let ghcrBackend: Distribution; // behind the token front
let front: TokenFront;
let cache: RegistryProcess;
let cacheClient: RegistryClient;
let hubClient: RegistryClient;
let ghcrClient: RegistryClient;
const images: Record<string, BuiltImage> = {};
const HUB_USER = 'hubuser';
const HUB_PASSWORD = 'hub-password';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proxy-cache-'));
  await runOk('htpasswd', ['-Bbc', join(dir, 'hub.htpasswd'), HUB_USER, HUB_PASSWORD]);
  hub = await startDistribution(join(dir, 'hub-data'), join(dir, 'hub'), { extraConfig: ['auth:', '  htpasswd:', '    realm: hub', `    path: ${join(dir, 'hub.htpasswd')}`] });
  ghcrBackend = await startDistribution(join(dir, 'ghcr-data'), join(dir, 'ghcr'));
  front = await startTokenFront(ghcrBackend.url);
  hubClient = new RegistryClient(hub.url, { authorization: basicAuth(HUB_USER, HUB_PASSWORD) });
  ghcrClient = new RegistryClient(ghcrBackend.url);
  for (const [name, text] of [['busybox1', 'one'], ['busybox2', 'two'], ['tool1', 'tool one'], ['tool2', 'tool two']] as const) {
    images[name] = await buildOciLayout(join(dir, name), 'v1', { files: { 'hello.txt': `${text}\n` } });
  }
  await copyIn('busybox1', hub, 'library/busybox:latest', `${HUB_USER}:${HUB_PASSWORD}`);
  await copyIn('tool1', ghcrBackend, 'team/tool:v1');

  const setup = await prepareRegistry(join(dir, 'cache'), {
    REGISTRY_PROXY_REMOTEURL: hub.url,
    REGISTRY_PROXY_USERNAME: HUB_USER,
    REGISTRY_PROXY_PASSWORD: HUB_PASSWORD,
    REGISTRY_PROXY_TTL: '1s',
    REGISTRY_PROXY_REMOTES: `[{prefix: ghcr.io, remoteurl: "${front.url}", username: ${FRONT_USER}, password: ${FRONT_PASSWORD}, ttl: 1h}]`,
  });
  cache = await RegistryProcess.start(setup);
  cacheClient = new RegistryClient(`http://127.0.0.1:${setup.httpPort}`, { authorization: basicAuth(setup.user, setup.password) });
});

test.after.always(async () => {
  await cache?.stop();
  await hub?.stop();
  await ghcrBackend?.stop();
  await front?.close();
  if (process.env.KEEP_PROXY_TEST_LOG) console.log(cache?.logTail(20000));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function copyIn(image: string, registry: Distribution, ref: string, creds?: string): Promise<void> {
  const auth = creds ? ['--dest-creds', creds] : [];
  await runOk('skopeo', ['copy', '--dest-tls-verify=false', ...auth, `oci:${join(dir, image)}:v1`, `docker://${new URL(registry.url).host}/${ref}`], { timeoutMs: 120_000 });
}

async function pullFromCache(ref: string, into: string): Promise<void> {
  const creds = `${cache.setup.user}:${cache.setup.password}`;
  await runOk('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://127.0.0.1:${cache.setup.httpPort}/${ref}`, `oci:${join(dir, into)}:v1`], { timeoutMs: 120_000 });
}

const cacheRoot = () => cache.setup.root;
const blobFile = (digest: string) => join(cacheRoot(), 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');

test.serial('skopeo pulls an image through the cache from the default upstream (Basic auth); it is stored here', async (t) => {
  const image = images.busybox1!;
  t.false(existsSync(blobFile(image.layers[0]!.digest)));
  await pullFromCache('library/busybox:latest', 'pulled-busybox1');
  const manifest = await cacheClient.getManifest('library/busybox', 'latest');
  t.is(manifest.status, 200);
  t.is(manifest.header('docker-content-digest'), image.manifest.digest);
  for (const blob of [image.config, ...image.layers]) t.true(existsSync(blobFile(blob.digest)), `${blob.digest} is cached`);
  const layer = await cacheClient.getBlob('library/busybox', image.layers[0]!.digest);
  t.is(sha256(layer.body), image.layers[0]!.digest);
});

test.serial('pushes and deletes into a cached repository are refused with UNSUPPORTED, as registry:2', async (t) => {
  const res = await cacheClient.send('/v2/library/busybox/blobs/uploads/', { method: 'POST' });
  t.is(res.status, 405);
  t.is(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'UNSUPPORTED');
  const put = await cacheClient.putManifest('library/busybox', 'mine', '{}', 'application/vnd.oci.image.manifest.v1+json');
  t.is(put.status, 405);
});

test.serial('a prefix picks its upstream (Docker token flow), and so does containerd\'s ?ns=', async (t) => {
  const image = images.tool1!;
  await pullFromCache('ghcr.io/team/tool:v1', 'pulled-tool1');
  t.true(front.tokensIssued >= 1, 'a token was fetched with the configured credentials');
  const byNs = await cacheClient.send('/v2/team/tool/manifests/v1?ns=ghcr.io', { headers: { accept: image.manifest.mediaType } });
  t.is(byNs.status, 200);
  t.is(byNs.header('docker-content-digest'), image.manifest.digest);
  const blob = await cacheClient.send(`/v2/team/tool/blobs/${image.layers[0]!.digest}?ns=ghcr.io`);
  t.is(sha256(blob.body), image.layers[0]!.digest);
  t.true(existsSync(join(cacheRoot(), 'docker/registry/v2/repositories/ghcr.io/team/tool/_manifests/tags/v1')), 'kept under the prefixed name');
});

test.serial('a tag is asked again after ttl; within ttl the cached tag is served', async (t) => {
  await copyIn('busybox2', hub, 'library/busybox:latest', `${HUB_USER}:${HUB_PASSWORD}`);
  await copyIn('tool2', ghcrBackend, 'team/tool:v1');
  await new Promise((resolve) => setTimeout(resolve, 1500)); // past the default upstream's 1 s ttl
  const hubTag = await cacheClient.getManifest('library/busybox', 'latest');
  t.is(hubTag.header('docker-content-digest'), images.busybox2!.manifest.digest, 'ttl 1s: the new digest');
  const ghcrTag = await cacheClient.getManifest('ghcr.io/team/tool', 'v1');
  t.is(ghcrTag.header('docker-content-digest'), images.tool1!.manifest.digest, 'ttl 1h: still the cached digest');
  await pullFromCache('library/busybox:latest', 'pulled-busybox2');
});

test.serial('pulls of one tag that miss together ask the upstream once', async (t) => {
  await copyIn('tool2', ghcrBackend, 'team/tool:crowd');
  front.manifestRequests = 0;
  const answers = await Promise.all(Array.from({ length: 8 }, () => cacheClient.getManifest('ghcr.io/team/tool', 'crowd')));
  t.deepEqual(
    answers.map((a) => [a.status, a.header('docker-content-digest')]),
    answers.map(() => [200, images.tool2!.manifest.digest]),
  );
  t.is(front.manifestRequests, 2, 'one HEAD and one GET for eight pulls');
});

test.serial('a client that goes away mid-blob leaves no blob; the next pull gets it whole', async (t) => {
  const big = seededBytes('proxy-big', 24 * 1024 * 1024);
  const digest = await hubClient.pushBlob('library/busybox', big);
  const url = new URL(`${cacheClient.baseUrl}/v2/library/busybox/blobs/${digest}`);
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { headers: { authorization: basicAuth(cache.setup.user, cache.setup.password) } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => (req.destroyed ? resolve() : reject(err)));
    req.end();
  });
  const uploadsDir = join(cacheRoot(), 'docker/registry/v2/repositories/library/busybox/_uploads');
  await waitFor(async () => (await listTree(uploadsDir)).length === 0, 30_000);
  t.false(existsSync(blobFile(digest)), 'nothing stored under the digest');
  const whole = await cacheClient.getBlob('library/busybox', digest);
  t.is(whole.status, 200);
  t.is(sha256(whole.body), digest);
  // The client has every byte (Content-Length) while storage still fsyncs and renames the blob.
  await waitFor(async () => existsSync(blobFile(digest)), 10_000);
  t.true(existsSync(blobFile(digest)));
});

test.serial('an upstream that sends wrong bytes for a digest: the client gets a broken answer and nothing is stored', async (t) => {
  const data = seededBytes('proxy-corrupt', 300_000);
  const digest = await ghcrClient.pushBlob('team/tool', data);
  front.corrupt.set(digest, seededBytes('something else', data.length));
  const res = await cacheClient.getBlob('ghcr.io/team/tool', digest).catch((err: Error) => err);
  if (!(res instanceof Error)) t.not(sha256(res.body), digest, 'never the wrong bytes passed off as whole'); // a short body at most
  await waitFor(async () => (await listTree(join(cacheRoot(), 'docker/registry/v2/repositories/ghcr.io/team/tool/_uploads'))).length === 0, 30_000);
  t.false(existsSync(blobFile(digest)));
  front.corrupt.delete(digest);
  const good = await cacheClient.getBlob('ghcr.io/team/tool', digest);
  t.is(sha256(good.body), digest);
});

test.serial('with the upstreams stopped, what is cached is still served (after ttl too); the rest is 503', async (t) => {
  await hub.stop();
  await front.close();
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the 1 s ttl has passed: the upstream is asked, and is down
  await pullFromCache('library/busybox:latest', 'offline-busybox');
  await pullFromCache('ghcr.io/team/tool:v1', 'offline-tool');
  const manifest = await cacheClient.getManifest('library/busybox', 'latest');
  t.is(manifest.header('docker-content-digest'), images.busybox2!.manifest.digest);
  const missing = await cacheClient.getManifest('library/alpine', 'latest');
  t.is(missing.status, 503);
  t.is(missing.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'UNAVAILABLE');
});

// Webhook notifications against registry:2's: the same skopeo push and pull, once into this
// registry (`registry start`, htpasswd auth, endpoints set through REGISTRY_NOTIFICATIONS_ENDPOINTS)
// and once into Debian's docker-registry (registry:2's program, same htpasswd file, endpoints in
// config.yml), both posting to one local HTTP sink. Every event must have the same keys, and the
// same values where they describe the same thing; `ignore` keeps events away from an endpoint.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../e2e/helpers/run.js';
import { startHttpSink, type HttpSink } from '../helpers/http-sink.js';
import { buildOciLayout, type BuiltImage } from '../helpers/oci-image.js';
import { prepareRegistry, RegistryProcess } from '../helpers/registry-process.js';
import { startDistribution, type Distribution } from '../helpers/storage-distribution.js';
import { waitFor } from '../helpers/wait.js';

interface Event {
  id: string;
  timestamp: string;
  action: string;
  target: Record<string, unknown>;
  request: Record<string, unknown>;
  actor: Record<string, unknown>;
  source: Record<string, unknown>;
}

let dir: string;
let sink: HttpSink;
let ours: RegistryProcess;
let reference: Distribution;
let image: BuiltImage;
let creds: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'notify-compare-'));
  sink = await startHttpSink();
  const endpoints = [
    `{name: sink, url: "${sink.url}/ours", headers: {Authorization: [Bearer xyz], X-Extra: [a, b]}, timeout: 2s, threshold: 3, backoff: 1s}`,
    `{name: manifests-only, url: "${sink.url}/ours-filtered", ignore: {actions: [pull], mediatypes: [application/octet-stream]}}`,
    `{name: off, url: "${sink.url}/off", disabled: true}`,
  ];
  const setup = await prepareRegistry(join(dir, 'ours'), { REGISTRY_NOTIFICATIONS_ENDPOINTS: `[${endpoints.join(', ')}]` });
  creds = `${setup.user}:${setup.password}`;
  ours = await RegistryProcess.start(setup);
  reference = await startDistribution(join(dir, 'ref-data'), join(dir, 'ref'), { extraConfig: [
    'auth:',
    '  htpasswd:',
    '    realm: harness',
    `    path: ${setup.htpasswdPath}`,
    'notifications:',
    '  endpoints:',
    '    - name: sink',
    `      url: ${sink.url}/reference`,
    '      headers:',
    '        Authorization: [Bearer xyz]',
    '        X-Extra: [a, b]',
    '      timeout: 2s',
    '      threshold: 3',
    '      backoff: 1s',
  ] });
  image = await buildOciLayout(join(dir, 'image'), 'v1', { files: { 'hello.txt': 'notify me\n' } });
});

test.after.always(async () => {
  await ours?.stop();
  await reference?.stop();
  await sink?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function eventsAt(path: string): Event[] {
  return sink.received.filter((p) => p.path === path).flatMap((p) => (p.body as { events: Event[] }).events);
}

/** What identifies an event across the two registries (ids, times and ports differ). */
function signature(e: Event): string {
  return [e.action, e.request.method, e.target.mediaType, e.target.digest, e.target.tag ?? ''].join(' ');
}

/** Keys of an object, nested objects as `key.sub`. */
function keyPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value)
    .flatMap(([key, v]) => (v !== null && typeof v === 'object' ? keyPaths(v as Record<string, unknown>, `${prefix}${key}.`) : [`${prefix}${key}`]))
    .sort();
}

test.serial('a skopeo push and pull send the events registry:2 sends, with the same fields', async (t) => {
  const ourHost = `127.0.0.1:${ours.setup.httpPort}`;
  const refHost = new URL(reference.url).host;
  for (const host of [ourHost, refHost]) {
    await runOk('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${join(dir, 'image')}:v1`, `docker://${host}/team/app:v1`], { timeoutMs: 120_000 });
    await runOk('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/team/app:v1`, `oci:${join(dir, `pulled-${host.replace(':', '-')}`)}:v1`], { timeoutMs: 120_000 });
  }
  // push: config + layer + manifest; pull: manifest + config + layer.
  await waitFor(() => eventsAt('/reference').length >= 6 && eventsAt('/ours').length >= eventsAt('/reference').length, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 500)); // anything late would show up now
  const theirs = eventsAt('/reference');
  const mine = eventsAt('/ours');
  t.deepEqual(mine.map(signature).sort(), theirs.map(signature).sort(), 'the same events for the same push and pull');
  const pushedManifest = mine.find((e) => e.action === 'push' && e.target.tag === 'v1');
  t.is(pushedManifest?.target.digest, image.manifest.digest);
  t.is(pushedManifest?.target.size, image.manifest.size);

  for (const their of theirs) {
    const my = mine.find((e) => signature(e) === signature(their))!;
    const what = signature(their);
    t.deepEqual(keyPaths(my as unknown as Record<string, unknown>), keyPaths(their as unknown as Record<string, unknown>), `keys of ${what}`);
    for (const key of ['mediaType', 'size', 'digest', 'length', 'repository', 'tag'] as const) t.is(my.target[key], their.target[key], `${key} of ${what}`);
    t.is(String(my.target.url).replace(ourHost, 'HOST'), String(their.target.url).replace(refHost, 'HOST'), `url of ${what}`);
    t.is(my.request.host, ourHost);
    t.is(their.request.host, refHost);
    t.is(my.request.useragent, their.request.useragent);
    t.regex(String(my.request.addr), /^127\.0\.0\.1:\d+$/, 'the client address with its port, as registry:2');
    t.regex(String(my.request.id), /^[\w-]{8,}$/);
    t.deepEqual(my.actor, their.actor, 'the authenticated user');
    t.regex(String(my.source.addr), /^[^:]+:\d+$/);
    t.regex(my.id, /^[0-9a-f-]{36}$/);
    t.false(Number.isNaN(Date.parse(my.timestamp)));
  }
  t.is(new Set(mine.map((e) => e.source.instanceID)).size, 1, 'one instance id per storage process');

  const post = sink.received.find((p) => p.path === '/ours')!;
  const theirPost = sink.received.find((p) => p.path === '/reference')!;
  t.is(post.headers['content-type'], 'application/vnd.docker.distribution.events.v1+json');
  t.is(post.headers['content-type'], theirPost.headers['content-type']);
  t.is(post.headers.authorization, 'Bearer xyz');
  t.is(post.headers['x-extra'], theirPost.headers['x-extra'], 'a header with several values, as registry:2 sends it');

  const filtered = eventsAt('/ours-filtered');
  t.deepEqual(filtered.map(signature), [`push PUT ${image.manifest.mediaType} ${image.manifest.digest} v1`], 'ignore.actions and ignore.mediatypes');
  t.is(eventsAt('/off').length, 0, 'a disabled endpoint gets nothing');
});

test.serial('mount and delete events match registry:2', async (t) => {
  const layer = image.layers[0]!.digest;
  const auth = `Basic ${Buffer.from(creds).toString('base64')}`;
  const hosts = { ours: `127.0.0.1:${ours.setup.httpPort}`, reference: new URL(reference.url).host };
  const before = { ours: eventsAt('/ours').length, reference: eventsAt('/reference').length };
  for (const host of Object.values(hosts)) {
    const mount = await fetch(`http://${host}/v2/other/app/blobs/uploads/?mount=${layer}&from=team/app`, { method: 'POST', headers: { authorization: auth } });
    t.is(mount.status, 201);
    const del = await fetch(`http://${host}/v2/team/app/manifests/${image.manifest.digest}`, { method: 'DELETE', headers: { authorization: auth } });
    t.is(del.status, 202);
  }
  // mount, manifest delete, the tag that went with it
  await waitFor(() => eventsAt('/reference').length >= before.reference + 3 && eventsAt('/ours').length >= before.ours + 3, 30_000);
  const theirs = eventsAt('/reference').slice(before.reference);
  const mine = eventsAt('/ours').slice(before.ours);
  const shape = (e: Event) => ({ action: e.action, target: { ...e.target, url: e.target.url === undefined ? undefined : 'url' }, keys: keyPaths(e as unknown as Record<string, unknown>) });
  t.deepEqual(mine.map(shape), theirs.map(shape));
  t.is(mine[0]!.target.fromRepository, 'team/app');
});

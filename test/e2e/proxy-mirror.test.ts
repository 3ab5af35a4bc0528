// The pull-through cache as real clients use it, with no internet: an upstream registry:2
// (Debian's docker-registry) holds `library/busybox:latest` under the name Docker Hub would have;
// the cache (`registry start`, anonymous, REGISTRY_PROXY_REMOTEURL plus a `docker.io` remote for
// containerd's ?ns=) is docker's `registry-mirrors` and containerd's hosts.toml mirror for
// docker.io. Both pull `busybox:latest` through it, then again with the upstream stopped.
import test from 'ava';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startContainerd, type Containerd } from './helpers/containerd.js';
import { startDockerd, type DockerEngine } from './helpers/dockerd.js';
import { acquireE2eLock, assertRoot, makeTempDir, type MachineLock } from './helpers/machine.js';
import { runOk } from './helpers/run.js';
import { buildOciLayout, type BuiltImage } from '../helpers/oci-image.js';
import { prepareRegistry, RegistryProcess } from '../helpers/registry-process.js';
import { startDistribution, type Distribution } from '../helpers/storage-distribution.js';

let lock: MachineLock | undefined;
let dir: string | undefined;
let upstream: Distribution | undefined;
let cache: RegistryProcess | undefined;
let docker: DockerEngine | undefined;
let containerd: Containerd | undefined;
let image: BuiltImage;
let hostsDir: string;

test.before(async () => {
  assertRoot();
  lock = await acquireE2eLock();
  dir = await makeTempDir('e2e-proxy-mirror');
  upstream = await startDistribution(join(dir, 'upstream-data'), join(dir, 'upstream'));
  image = await buildOciLayout(join(dir, 'image'), 'latest', { files: { 'hello.txt': 'mirrored busybox\n', 'bin/sh': '#!fake\n' } });
  await runOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${join(dir, 'image')}:latest`, `docker://${new URL(upstream.url).host}/library/busybox:latest`], { timeoutMs: 120_000 });

  const setup = await prepareRegistry(join(dir, 'cache'), {
    REGISTRY_PROXY_REMOTEURL: upstream.url,
    REGISTRY_PROXY_REMOTES: `[{prefix: docker.io, remoteurl: "${upstream.url}"}]`,
    REGISTRY_PROXY_TTL: '1s',
  });
  // A mirror is anonymous, as a Docker Hub mirror usually is.
  for (const name of Object.keys(setup.env)) if (name.startsWith('REGISTRY_AUTH')) delete setup.env[name];
  cache = await RegistryProcess.start(setup);
  const cacheUrl = `http://127.0.0.1:${setup.httpPort}`;

  docker = await startDockerd(join(dir, 'docker'), { daemonConfig: { 'registry-mirrors': [cacheUrl] } });
  containerd = await startContainerd(join(dir, 'containerd'));
  hostsDir = join(dir, 'hosts.d');
  await mkdir(join(hostsDir, 'docker.io'), { recursive: true });
  await writeFile(
    join(hostsDir, 'docker.io', 'hosts.toml'),
    `server = "https://registry-1.docker.io"\n\n[host."${cacheUrl}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
});

test.after.always(async () => {
  await docker?.stop();
  await containerd?.stop();
  await cache?.stop();
  await upstream?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  await lock?.release();
});

async function dockerPull(t: { is: (a: unknown, b: unknown, m?: string) => void }): Promise<void> {
  await docker!.docker(['pull', 'busybox:latest']);
  const digests = await docker!.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'busybox:latest']);
  t.is((JSON.parse(digests) as string[])[0], `busybox@${image.manifest.digest}`, 'the upstream image, digest for digest');
}

async function ctrPull(t: { is: (a: unknown, b: unknown, m?: string) => void }): Promise<void> {
  await containerd!.ctr(['images', 'pull', '--hosts-dir', hostsDir, 'docker.io/library/busybox:latest']);
  const listing = await containerd!.ctr(['images', 'ls']);
  const row = listing.split('\n').find((line) => line.startsWith('docker.io/library/busybox:latest '));
  t.is(/sha256:[a-f0-9]{64}/.exec(row ?? '')?.[0], image.manifest.digest);
}

test.serial('docker (registry-mirrors) and containerd (hosts.toml) pull docker.io images through the cache', async (t) => {
  await dockerPull(t);
  await ctrPull(t);
  const cached = await fetch(`http://127.0.0.1:${cache!.setup.httpPort}/v2/docker.io/library/busybox/manifests/latest`, { headers: { accept: image.manifest.mediaType } });
  t.is(cached.status, 200, 'containerd\'s ?ns=docker.io stored it under docker.io/library/busybox');
});

test.serial('with the upstream stopped, both pull again from the cache', async (t) => {
  await upstream!.stop();
  await new Promise((resolve) => setTimeout(resolve, 1500)); // past the 1 s ttl: the upstream is asked, and is down
  await docker!.docker(['rmi', 'busybox:latest']);
  await dockerPull(t);
  await containerd!.ctr(['images', 'rm', 'docker.io/library/busybox:latest']);
  await containerd!.ctr(['content', 'prune', 'references']).catch(() => undefined);
  await ctrPull(t);
});

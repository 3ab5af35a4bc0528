// Two registries (each a gateway + a storage, `registry start`) over one S3 bucket (Ceph RGW
// started here), sharing only the bucket, the htpasswd file and http.secret, behind nginx
// round-robin on docker-registry.home: skopeo, podman and docker (a dockerd of its own) push and
// pull through it, and what comes back is what went in; a replica
// killed in the middle of a push loses nothing acknowledged, and the client's retry through the
// other replica completes.
import test from 'ava';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireE2eLock, addHostsEntry, assertRoot, makeTempDir, trackClientGlobalPaths } from './helpers/machine.js';
import { startNginxFront, type NginxFront } from './helpers/nginx-front.js';
import { startRegistryUnderTest, type RegistryUnderTest } from './helpers/registry-under-test.js';
import { runOk } from './helpers/run.js';
import { registryApi } from './helpers/registry-api.js';
import { containerFiles, forgetAllImages, pushedDigest, startDockerd, type DockerEngine } from './helpers/dockerd.js';
import { buildOciLayout, rootfsTar, sha256, type BuiltImage } from '../helpers/oci-image.js';
import { rgwEnvironment, startRgw, type Rgw } from '../helpers/rgw.js';

const TIMEOUT = { timeoutMs: 240_000 };
const undo: Array<() => Promise<void>> = [];
let dir: string;
let rgw: Rgw;
let replicas: RegistryUnderTest[] = [];
let nginx: NginxFront;
let authFile: string;
let small: { dir: string; image: BuiltImage };
let big: { dir: string; image: BuiltImage };
let engine: DockerEngine;
let dockerImage: { tarPath: string; files: Map<string, Buffer> };

test.before(async () => {
  assertRoot();
  const lock = await acquireE2eLock();
  undo.push(() => lock.release());
  undo.push(await trackClientGlobalPaths());
  dir = await makeTempDir('e2e-s3-replicas');
  await chmod(dir, 0o711);
  undo.push(() => rm(dir, { recursive: true, force: true }));
  rgw = await startRgw();
  undo.push(() => rgw.stop());
  const bucket = await rgw.newBucket();
  const env = {
    ...rgwEnvironment(rgw, bucket),
    REGISTRY_STORAGE_S3_CHUNKSIZE: String(5 * 1024 * 1024),
    REGISTRY_HTTP_SECRET: 'the-same-secret-on-every-replica',
  };
  const first = await startRegistryUnderTest({ dir: join(dir, 'r1'), trustedProxies: ['127.0.0.1'], env });
  undo.push(() => first.stop().catch(() => undefined));
  // The same users on every replica: the first one's htpasswd file.
  const second = await startRegistryUnderTest({ dir: join(dir, 'r2'), trustedProxies: ['127.0.0.1'], env: { ...env, REGISTRY_AUTH_HTPASSWD_PATH: first.htpasswdPath } });
  undo.push(() => second.stop().catch(() => undefined));
  replicas = [first, second];
  undo.push(await addHostsEntry());
  nginx = await startNginxFront({ dir: join(dir, 'nginx'), upstreamPort: first.port, upstreamPorts: [second.port] });
  undo.push(() => nginx.stop());
  authFile = join(dir, 'auth.json');
  await writeFile(authFile, '{}');
  small = { dir: join(dir, 'small'), image: await buildOciLayout(join(dir, 'small'), 'v1', { files: { 'hello.txt': 'replicas\n' }, bigLayerMiB: 7, seed: 'replicas-small' }) };
  big = { dir: join(dir, 'big'), image: await buildOciLayout(join(dir, 'big'), 'v1', { files: { 'hello.txt': 'big\n' }, bigLayerMiB: 96, seed: 'replicas-big' }) };
  engine = await startDockerd(join(dir, 'docker'));
  undo.push(() => engine.stop());
  // Over 5 MiB (the chunksize above): the layer's upload is more than one S3 part.
  const rootfs = rootfsTar({ files: { 'hello.txt': 'docker on replicas\n', 'etc/motd': 's3\n' }, bigLayerMiB: 12, seed: 'replicas-docker' });
  dockerImage = { tarPath: join(dir, 'docker-rootfs.tar'), files: rootfs.files };
  await writeFile(dockerImage.tarPath, rootfs.tar);
});

test.after.always(async () => {
  while (undo.length > 0) await undo.pop()!().catch((err: unknown) => console.error(err));
});

const user = () => replicas[0]!.user;
const password = () => replicas[0]!.password;
const skopeo = (...args: string[]) => runOk('skopeo', [args[0]!, '--authfile', authFile, ...args.slice(1)], TIMEOUT);

test.serial('skopeo pushes and pulls through nginx round-robin over two replicas', async (t) => {
  await runOk('skopeo', ['login', '--authfile', authFile, '--tls-verify=false', '-u', user(), '--password-stdin', nginx.host], { ...TIMEOUT, input: password() });
  await skopeo('copy', '--dest-tls-verify=false', `oci:${small.dir}:v1`, `docker://${nginx.host}/s3/skopeo:v1`);
  const out = join(dir, 'skopeo-out');
  await skopeo('copy', '--src-tls-verify=false', `docker://${nginx.host}/s3/skopeo:v1`, `oci:${out}:v1`);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  t.is(index.manifests[0]!.digest, small.image.manifest.digest);
  for (const replica of replicas) {
    const api = registryApi({ label: 'direct', host: replica.host, url: `http://${replica.host}` }, replicas[0]!);
    t.is(await api.manifestDigest('s3/skopeo', 'v1'), small.image.manifest.digest, `replica ${replica.host} serves it`);
  }
  const log = await nginx.accessLogText();
  t.true(log.split('\n').filter((line) => line.includes('PATCH') || line.includes('PUT')).length >= 2);
});

test.serial('podman pushes and pulls through nginx round-robin over two replicas', async (t) => {
  const root = join(dir, 'podman');
  await mkdir(root, { recursive: true });
  const podmanArgs = ['--root', join(root, 'root'), '--runroot', join(root, 'runroot'), '--tmpdir', join(root, 'tmp'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const podmanAuth = join(dir, 'podman-auth.json');
  await writeFile(podmanAuth, '{}');
  const podman = (args: string[], input?: string) => runOk('podman', [...podmanArgs, ...args], { ...TIMEOUT, input, env: { REGISTRY_AUTH_FILE: podmanAuth } });
  const ref = `${nginx.host}/s3/podman:v1`;
  await podman(['login', '--tls-verify=false', '-u', user(), '--password-stdin', nginx.host], password());
  const id = (await podman(['pull', '-q', `oci:${small.dir}:v1`])).trim();
  await podman(['tag', id, ref]);
  const digestFile = join(dir, 'podman.digest');
  await podman(['push', '--tls-verify=false', '--digestfile', digestFile, ref]);
  const digest = (await readFile(digestFile, 'utf8')).trim();
  await podman(['rmi', '--all', '--force']);
  await podman(['pull', '--tls-verify=false', ref]);
  t.is((await podman(['image', 'inspect', '--format', '{{.Digest}}', ref])).trim(), digest);
});

test.serial('docker pushes and pulls through nginx round-robin over two replicas: same digest and files', async (t) => {
  const repo = 's3/docker';
  const ref = `${nginx.host}/${repo}:v1`;
  await engine.docker(['login', '-u', user(), '--password-stdin', nginx.host], { input: password() });
  await engine.docker(['import', '--change', 'CMD ["/bin/sh"]', dockerImage.tarPath, ref], TIMEOUT);
  const digest = pushedDigest(await engine.docker(['push', ref], TIMEOUT));
  for (const replica of replicas) {
    const api = registryApi({ label: 'direct', host: replica.host, url: `http://${replica.host}` }, replicas[0]!);
    t.is(await api.manifestDigest(repo, 'v1'), digest, `replica ${replica.host} serves what docker pushed`);
    // The gateway's access log (JSON lines): docker's upload requests reached both replicas.
    const uploads = (await readFile(replica.logFile, 'utf8')).split('\n').filter((line) => line.includes(`"path":"/v2/${repo}/blobs/uploads/`) && line.includes('docker/'));
    t.true(uploads.length > 0, `docker's push reached replica ${replica.host}`);
  }

  await forgetAllImages(engine);
  const pull = await engine.docker(['pull', ref], TIMEOUT);
  t.true(pull.includes(`Digest: ${digest}`), pull);
  t.true(pull.includes('Pull complete'), 'the layers were downloaded, not found locally');
  const files = await containerFiles(engine, ref);
  for (const [path, content] of dockerImage.files) {
    t.true(files.get(path)?.equals(content) ?? false, `${path} came back unchanged (${sha256(content)})`);
  }
});

test.serial('a replica killed in the middle of a push: the retry through the other one completes', async (t) => {
  const victim = replicas[0]!;
  const push = skopeo('copy', '--retry-times', '5', '--dest-tls-verify=false', `oci:${big.dir}:v1`, `docker://${nginx.host}/s3/killed:v1`);
  // Kill the whole first registry (gateway + storage) once the big layer's upload has begun.
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    if ((await nginx.accessLogText()).includes('/v2/s3/killed/blobs/uploads/')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  process.kill(-victim.pid, 'SIGKILL');
  // skopeo retries what failed between requests itself (nginx sends those to the survivor); a
  // PATCH cut in the middle of its body is a 502 from nginx, which skopeo gives up on: the user
  // then runs the same push again, and it completes through the survivor.
  const first = await push.then(
    () => undefined,
    (err: Error) => err.message,
  );
  t.log(first === undefined ? 'the push went on through the survivor' : `the push failed (${first.split('\n').find((line) => line.includes('level=fatal')) ?? first.slice(0, 200)}); pushing again`);
  if (first !== undefined) {
    t.regex(first, /502 Bad Gateway|connection reset|EOF|broken pipe/);
    await skopeo('copy', '--retry-times', '5', '--dest-tls-verify=false', `oci:${big.dir}:v1`, `docker://${nginx.host}/s3/killed:v1`);
  }
  const survivor = replicas[1]!;
  const api = registryApi({ label: 'direct', host: survivor.host, url: `http://${survivor.host}` }, replicas[0]!);
  t.is(await api.manifestDigest('s3/killed', 'v1'), big.image.manifest.digest);
  const out = join(dir, 'killed-out');
  await skopeo('copy', '--src-tls-verify=false', `docker://${nginx.host}/s3/killed:v1`, `oci:${out}:v1`);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  t.is(index.manifests[0]!.digest, big.image.manifest.digest, 'pulled whole through the survivor');
});

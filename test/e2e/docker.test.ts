// The Docker engine against the registry, directly and through nginx: refusals without login and
// with a wrong password, login, push, pull of a fresh copy and its files, a cross-repository
// mount, and (through nginx) a 64 MiB layer.
import test, { type ExecutionContext } from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerFiles, forgetAllImages, pushedDigest, startDockerd, type DockerEngine } from './helpers/dockerd.js';
import { rootfsTar, sha256 } from '../helpers/oci-image.js';
import { registryApi } from './helpers/registry-api.js';
import { useE2eWorld, type Endpoint } from './helpers/world.js';

let engine: DockerEngine;
let noLoginConfig: string;
let small: { tarPath: string; files: Map<string, Buffer> };
let big: { tarPath: string; files: Map<string, Buffer> };

const BIG_MIB = 64;

const world = useE2eWorld('docker', async (w) => {
  engine = await startDockerd(join(w.dir, 'docker'));
  w.onStop(() => engine.stop());
  noLoginConfig = join(w.dir, 'docker-no-login');
  await mkdir(noLoginConfig, { recursive: true });

  const smallRootfs = rootfsTar({ files: { 'hello.txt': 'hello from docker\n', 'etc/motd': 'e2e docker\n' } });
  small = { tarPath: join(w.dir, 'small-rootfs.tar'), files: smallRootfs.files };
  await writeFile(small.tarPath, smallRootfs.tar);
  const bigRootfs = rootfsTar({ files: { 'hello.txt': 'big image\n' }, bigLayerMiB: BIG_MIB });
  big = { tarPath: join(w.dir, 'big-rootfs.tar'), files: bigRootfs.files };
  await writeFile(big.tarPath, bigRootfs.tar);
});

async function login(endpoint: Endpoint): Promise<void> {
  await engine.docker(['login', '-u', world().registry.user, '--password-stdin', endpoint.host], { input: world().registry.password });
}

/** Push, forget, pull again and compare files and digests; returns the pushed digest. */
async function roundTrip(t: ExecutionContext, endpoint: Endpoint, repo: string, image: typeof small): Promise<string> {
  const ref = `${endpoint.host}/${repo}:v1`;
  await engine.docker(['import', '--change', 'CMD ["/bin/sh"]', image.tarPath, ref], { timeoutMs: 180_000 });
  const digest = pushedDigest(await engine.docker(['push', ref], { timeoutMs: 300_000 }));
  t.is(await registryApi(endpoint, world().registry).manifestDigest(repo, 'v1'), digest, 'the registry serves what docker pushed');

  await forgetAllImages(engine);
  const pull = await engine.docker(['pull', ref], { timeoutMs: 300_000 });
  t.true(pull.includes(`Digest: ${digest}`), pull);
  t.true(pull.includes('Pull complete'), 'the layer was downloaded, not found locally');
  const repoDigests = await engine.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]);
  t.deepEqual(JSON.parse(repoDigests), [`${endpoint.host}/${repo}@${digest}`]);

  const files = await containerFiles(engine, ref);
  for (const [path, content] of image.files) {
    t.true(files.get(path)?.equals(content) ?? false, `${path} came back unchanged (${sha256(content)})`);
  }
  return digest;
}

for (const label of ['direct', 'nginx'] as const) {
  const endpoint = (): Endpoint => world().endpoint(label);
  const repo = `e2e/docker-${label}`;

  test.serial(`docker push and pull without login: "no basic auth credentials" (${label})`, async (t) => {
    const anonymous = engine.withConfig(noLoginConfig);
    const ref = `${endpoint().host}/${repo}:anonymous`;
    await engine.docker(['import', small.tarPath, ref]);
    t.regex(await anonymous.dockerFails(['push', ref]), /no basic auth credentials/);
    t.regex(await anonymous.dockerFails(['pull', `${endpoint().host}/${repo}:v1`]), /no basic auth credentials/);
    await engine.docker(['rmi', ref]);
  });

  test.serial(`docker login with a wrong password fails (${label})`, async (t) => {
    const output = await engine.dockerFails(['login', '-u', world().registry.user, '--password-stdin', endpoint().host], {
      input: 'not-the-password',
    });
    t.regex(output, /401 Unauthorized|unauthorized/i);
  });

  test.serial(`docker login, push, pull: same digest and files (${label})`, async (t) => {
    await login(endpoint());
    await roundTrip(t, endpoint(), repo, small);
  });

  test.serial(`docker push to a second repository mounts the layer (${label})`, async (t) => {
    const source = `${endpoint().host}/${repo}:v1`; // pulled by the previous test
    const target = `${endpoint().host}/${repo}-mounted:v1`;
    await engine.docker(['tag', source, target]);
    const push = await engine.docker(['push', target]);
    t.regex(push, new RegExp(`Mounted from ${repo}\\b`), push);
    const digest = pushedDigest(push);
    t.is(await registryApi(endpoint(), world().registry).manifestDigest(`${repo}-mounted`, 'v1'), digest);
    if (label === 'nginx') {
      // What the registry answered, as nginx logged it: 201 Created to the mount request.
      const log = await world().nginx.accessLogText();
      const mountLine = log
        .split('\n')
        .find((line) => line.includes(`POST /v2/${repo}-mounted/blobs/uploads/?`) && /mount=sha256(:|%3A)/i.test(line));
      t.truthy(mountLine, 'docker asked for a cross-repository mount');
      t.regex(mountLine ?? '', /" 201 /);
      // ... and the layer's bytes were not sent again to the new repository.
      const layerHex = /mount=sha256(?::|%3A)([a-f0-9]{64})/i.exec(mountLine ?? '')?.[1];
      t.truthy(layerHex);
      const reuploads = log
        .split('\n')
        .filter((line) => line.includes(`/v2/${repo}-mounted/blobs/uploads/`) && new RegExp(`digest=sha256(:|%3A)${layerHex}`, 'i').test(line));
      t.deepEqual(reuploads, []);
    }
  });
}

test.serial(`docker push and pull of a ${BIG_MIB} MiB layer through nginx`, async (t) => {
  await login(world().viaNginx);
  await roundTrip(t, world().viaNginx, 'e2e/docker-big', big);
});

// The image and the compose stacks, built and run for real with a Docker engine of the test's
// own: the base images made locally (scripts/make-base-image.sh), `docker build`, the README's
// `docker run` lines, then docker-compose.yaml and docker-compose.nginx.yaml with the how-to's
// flow (login, tag, push, pull, `curl -u` on the catalog and the tags), users added before and
// after `up`, a forged X-Forwarded-For against the login throttle, a killed storage container,
// `restart`, `down` / `up`. Everything runs in a copy of the sources (./data and ./auth appear
// there, as they would in a user's checkout) and is torn down at the end, also on failure.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushedDigest, startDockerd, type DockerEngine } from '../e2e/helpers/dockerd.js';
import { assertRoot, makeTempDir } from '../e2e/helpers/machine.js';
import { registerSecret, run, runFails, runOk, type RunOptions } from '../e2e/helpers/run.js';
import { rootfsTar } from '../helpers/oci-image.js';
import { send } from '../helpers/storage-http.js';
import { waitFor } from '../helpers/wait.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const IMAGE = 'oci-registry-ts';
const USER = 'alice';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
registerSecret(PASSWORD);
/** What the Dockerfile and the compose files need, as a fresh clone has it. */
const SOURCES = [
  'Dockerfile', '.dockerignore', 'docker-entrypoint.sh', 'docker-compose.yaml', 'docker-compose.nginx.yaml',
  'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.image.json',
  'common', 'storage', 'gateway', 'cli', 'nginx-compat', 'scripts',
];

let engine: DockerEngine | undefined;
let dir: string;
/** The user's checkout: sources, then ./auth and ./data. */
let checkout: string;
let failed = false;
let nginxImage: Promise<void> = Promise.resolve();
const project = `rgt${randomBytes(4).toString('hex')}`;
const timings: string[] = [];

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

function docker(args: readonly string[], options: RunOptions = {}): Promise<string> {
  return engine!.docker(args, { cwd: checkout, timeoutMs: 300_000, ...options });
}

/** docker-compose in the checkout, as the README runs it, with the ports the test picked. */
function composeEnv(ports: { registry?: number; nginx?: number }): NodeJS.ProcessEnv {
  return {
    ...engine!.env,
    COMPOSE_PROJECT_NAME: project,
    REGISTRY_PORT: String(ports.registry ?? 5000),
    NGINX_PORT: String(ports.nginx ?? 80),
  };
}

/** README.md with shell continuation lines joined, as the shell reads them. */
function readmeCommands(): string {
  return readFileSync(join(REPO, 'README.md'), 'utf8').replace(/ *\\\n\s*/g, ' ');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The CA bundle of this machine, for npm in the build stage behind an intercepting proxy. */
function hostCaBundle(): string | undefined {
  const candidates = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'];
  return candidates.find((file): file is string => !!file && existsSync(file));
}

/**
 * nginx:stable made from Debian's nginx (nothing can be pulled here), shaped like the official
 * image. Saved beside the base images' root filesystem, so later runs on the machine load it.
 */
async function makeNginxImage(): Promise<void> {
  if ((await run('docker', ['image', 'inspect', 'nginx:stable'], { env: engine!.env })).code === 0) return;
  const cached = join(process.env.OCI_REGISTRY_TS_CACHE ?? '/var/cache/oci-registry-ts', 'nginx-stable-image.tar');
  if (existsSync(cached) && (await run('docker', ['load', '-q', '-i', cached], { env: engine!.env, timeoutMs: 300_000 })).code === 0) return;
  const ctx = join(dir, 'nginx-image');
  await mkdir(ctx, { recursive: true });
  await writeFile(
    join(ctx, 'Dockerfile'),
    [
      'FROM debian:bookworm-slim',
      'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light > /dev/null \\',
      '    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /etc/nginx/sites-enabled/* \\',
      '    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log',
      'STOPSIGNAL SIGQUIT',
      'CMD ["nginx", "-g", "daemon off;"]',
    ].join('\n'),
  );
  await docker(['build', '-q', '--network', 'host', '-t', 'nginx:stable', ctx], { timeoutMs: 600_000 });
  await mkdir(dirname(cached), { recursive: true });
  await docker(['save', '-o', `${cached}.tmp`, 'nginx:stable']);
  await rename(`${cached}.tmp`, cached);
}

async function login(host: string): Promise<void> {
  await docker(['login', '-u', USER, '--password-stdin', host], { input: PASSWORD });
}

/** The how-to's flow: tag a local image for the registry, push it, forget it, pull it back. */
async function pushAndPull(t: ExecutionContext, host: string, repo: string, tag: string): Promise<string> {
  const ref = `${host}/${USER}/${repo}:${tag}`;
  await docker(['tag', 'hello-world-api', ref]);
  const digest = pushedDigest(await docker(['push', ref]));
  await docker(['rmi', ref]);
  const pull = await docker(['pull', ref]);
  t.true(pull.includes(`Digest: ${digest}`), pull);
  const id = (await docker(['create', ref, '/bin/sh'])).trim();
  const hello = await run('docker', ['cp', `${id}:/hello.txt`, '-'], { env: engine!.env });
  await docker(['rm', id]);
  t.true(hello.stdout.toString('latin1').includes('hello from the how-to'), 'the pulled image has its files');
  return digest;
}

/** `curl -u user:password` as the how-to lists repositories and tags. */
async function curlJson<T>(url: string): Promise<T> {
  return JSON.parse(await runOk('curl', ['-sS', '--fail', '-u', `${USER}:${PASSWORD}`, url])) as T;
}

async function catalogAndTags(t: ExecutionContext, base: string, repo: string, tags: string[]): Promise<void> {
  const catalog = await curlJson<{ repositories: string[] }>(`${base}/v2/_catalog`);
  t.true(catalog.repositories.includes(`${USER}/${repo}`), JSON.stringify(catalog));
  const list = await curlJson<{ name: string; tags: string[] }>(`${base}/v2/${USER}/${repo}/tags/list`);
  t.deepEqual([...list.tags].sort(), [...tags].sort());
}

/** Answers at all (401 without credentials): the stack is up. */
async function waitForRegistry(base: string): Promise<void> {
  await waitFor(async () => (await send(base, '/v2/', { timeoutMs: 5000 }).catch(() => undefined))?.status === 401, 120_000, 500);
}

async function containerId(service: string, env: NodeJS.ProcessEnv, file: string): Promise<string> {
  const id = (await runOk('docker-compose', ['-f', file, 'ps', '-q', service], { cwd: checkout, env })).trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`no container for ${service}: ${id}`);
  return id;
}

async function healthOf(id: string): Promise<string> {
  return (await docker(['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', id])).trim();
}

/** The user the container's main process runs as (pid 1 after the entrypoint's exec). */
async function processUid(id: string): Promise<string> {
  const status = await docker(['exec', id, 'cat', '/proc/1/status']);
  return /^Uid:\s+(\d+)/m.exec(status)![1]!;
}

/**
 * 12 wrong passwords (the throttle allows 10 per address per minute), each claiming another
 * address in X-Forwarded-For, then the right one with yet another: believed, the header would
 * let every guess come from a fresh address and the last one in (200). It must get 429.
 */
async function forgedForwardedForIsThrottled(t: ExecutionContext, base: string): Promise<void> {
  const auth = (password: string) => `Basic ${Buffer.from(`${USER}:${password}`).toString('base64')}`;
  for (let i = 0; i < 12; i++) {
    const res = await send(base, '/v2/', { headers: { authorization: auth(`wrong-${i}`), 'x-forwarded-for': `203.0.113.${i + 1}` } });
    t.true(res.status === 401 || res.status === 429, `guess ${i}: ${res.status}`);
  }
  const last = await send(base, '/v2/', { headers: { authorization: auth(PASSWORD), 'x-forwarded-for': '198.51.100.77' } });
  t.is(last.status, 429, 'a forged X-Forwarded-For must not escape the login throttle');
}

/** Anonymous volumes (64 hex digits) in the engine: each `up` of a VOLUME left elsewhere adds one. */
async function anonymousVolumes(): Promise<string[]> {
  return (await docker(['volume', 'ls', '-q'])).split('\n').filter((name) => /^[0-9a-f]{64}$/.test(name));
}

test.before(async (t) => {
  t.timeout(30 * 60_000);
  assertRoot();
  dir = await makeTempDir('e2e-compose');
  checkout = join(dir, 'checkout');
  for (const source of SOURCES) await cp(join(REPO, source), join(checkout, source), { recursive: true });
  engine = await timed('dockerd', () => startDockerd(join(dir, 'docker'), { networks: true, storageDriver: 'overlay2', maxLifetimeSec: 3600 }));
  const ca = hostCaBundle();
  await timed('base images (scripts/make-base-image.sh)', () =>
    runOk('bash', [join(REPO, 'scripts/make-base-image.sh'), ...(ca ? ['--ca-bundle', ca] : [])], { env: engine!.env, timeoutMs: 900_000 }),
  );
  // Built while the registry image builds; the nginx test waits for it.
  nginxImage = timed('nginx:stable', makeNginxImage);
  nginxImage.catch(() => {}); // reported by the test that awaits it
  // The image the how-to pushes: a tiny local one, as `docker build` of any app would give.
  const tarPath = join(dir, 'hello-rootfs.tar');
  await writeFile(tarPath, rootfsTar({ files: { 'hello.txt': 'hello from the how-to\n' } }).tar);
  await docker(['import', '--change', 'CMD ["/bin/sh"]', tarPath, 'hello-world-api']);
});

test.afterEach((t) => {
  if (!t.passed) failed = true;
});

test.after.always(async (t) => {
  t.log(timings.join('; '));
  if (engine) {
    // Containers, networks and volumes first: their bridges would outlive the daemon otherwise.
    const ids = (await run('docker', ['ps', '-aq'], { env: engine.env })).stdout.toString().split('\n').filter(Boolean);
    if (ids.length > 0) await run('docker', ['rm', '-f', '-v', ...ids], { env: engine.env, timeoutMs: 120_000 });
    await run('docker', ['network', 'prune', '-f'], { env: engine.env, timeoutMs: 60_000 });
    await engine.stop();
  }
  if (dir && (!failed || process.env.E2E_KEEP_TMP === '1')) await rm(dir, { recursive: true, force: true });
  else if (dir) t.log(`kept ${dir} for a look`);
});

test.serial('the image builds with a small context, and carries no npm, corepack, compiler or tests', async (t) => {
  t.timeout(20 * 60_000);
  // ./data of a user who has pushed a few images: must not be sent to the daemon.
  await mkdir(join(checkout, 'data'), { recursive: true });
  await writeFile(join(checkout, 'data', 'big.bin'), randomBytes(32 * 1024 * 1024));
  const output = await timed('docker build', () => docker(['build', '--network', 'host', '-t', IMAGE, '.'], { timeoutMs: 1_200_000 }));
  const context = /Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)/.exec(output);
  t.truthy(context, output.slice(0, 500));
  const bytes = Number(context![1]) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[context![2]!]!;
  t.true(bytes < 8e6, `build context ${context![0]}: .dockerignore must keep ./data out`);
  await rm(join(checkout, 'data'), { recursive: true });

  const size = Number((await docker(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim());
  t.log(`image size: ${(size / 1e6).toFixed(1)} MB`);
  const inspect = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as {
    Volumes: Record<string, unknown>;
    Healthcheck?: { Test: string[] };
  };
  t.deepEqual(Object.keys(inspect.Volumes), ['/var/lib/registry']);
  t.truthy(inspect.Healthcheck?.Test.join(' ').includes('healthcheck.js'));
  const absent = await docker([
    'run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c',
    'for c in npm npx corepack yarn tsc gcc cc make python3; do command -v $c; done; ls /usr/local/lib/node_modules /app/dist/test 2>/dev/null; true',
  ]);
  t.is(absent.trim(), '', 'nothing but node and the registry in the final stage');
});

test.serial("the README's docker run lines: a user made before the registry starts, push and pull, non-root, healthy", async (t) => {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const readme = readmeCommands();
  // The README's lines, with the test's port and the password on stdin instead of a terminal.
  const addUser = `docker run --rm -i -v "$PWD/auth:/auth" ${IMAGE} user add --file /auth/registry.password ${USER}`;
  const runLine =
    `docker run -d --name registry -p 5000:5000 -v "$PWD/data:/var/lib/registry" -v "$PWD/auth:/auth:ro" ` +
    `-e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_REALM=Registry -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/registry.password ${IMAGE}`;
  t.true(readme.includes(addUser.replace('--rm -i', '--rm -it')), 'README: docker run ... user add');
  t.true(readme.includes('mkdir -p auth data'), 'README: mkdir -p auth data');
  const sh = (line: string, input?: string) => runOk('sh', ['-c', line], { cwd: checkout, env: engine!.env, input, timeoutMs: 120_000 });
  await mkdir(join(checkout, 'auth'));
  await mkdir(join(checkout, 'data'));
  await sh(addUser.replace(`${USER}`, `--password-stdin ${USER}`), PASSWORD);
  t.true(readme.includes(runLine), 'README: docker run -d ...');
  await sh(runLine.replace('-p 5000:5000', `-p ${port}:5000`));
  try {
    await waitForRegistry(`http://${host}`);
    await login(host);
    await pushAndPull(t, host, 'hello-world-api', 'v1');
    await catalogAndTags(t, `http://${host}`, 'hello-world-api', ['v1']);
    t.is(await processUid('registry'), '10001', 'the registry does not run as root');
    // The image's HEALTHCHECK command, run now rather than after docker's 30 s interval (the
    // compose test waits for docker's own verdict).
    const probe = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config.Healthcheck.Test}}', IMAGE])) as string[];
    t.is(probe[0], 'CMD');
    await waitFor(async () => (await run('docker', ['exec', 'registry', ...probe.slice(1)], { env: engine!.env })).code === 0, 60_000, 1000);
    // The data is where the image's VOLUME is: the bind mount, no anonymous volume beside it.
    t.true((await readdir(join(checkout, 'data', 'docker', 'registry', 'v2'))).includes('repositories'));
    t.deepEqual(await anonymousVolumes(), []);
  } finally {
    await docker(['rm', '-f', '-v', 'registry']);
    await rm(join(checkout, 'data'), { recursive: true });
    await rm(join(checkout, 'auth'), { recursive: true });
  }
});

test.serial('docker-compose.yaml: users before and after up, the how-to flow, a killed storage, restart, down and up', async (t) => {
  t.timeout(15 * 60_000);
  const port = await freePort();
  const env = composeEnv({ registry: port });
  const file = 'docker-compose.yaml';
  const compose = (args: readonly string[], options: RunOptions = {}) =>
    runOk('docker-compose', ['-f', file, ...args], { cwd: checkout, env, timeoutMs: 600_000, ...options });
  const base = `http://127.0.0.1:${port}`;
  const host = `127.0.0.1:${port}`;
  const readme = readmeCommands();
  const composeText = readFileSync(join(REPO, file), 'utf8');
  for (const line of ['docker-compose run --rm users add alice', 'docker-compose up -d']) {
    t.true(readme.includes(line), `README: ${line}`);
    t.true(composeText.includes(line), `${file}: ${line}`);
  }
  await mkdir(join(checkout, 'auth'));
  await mkdir(join(checkout, 'data'));

  // Before `up`, without the image: `run` builds it (from the layer cache here) and adds the user.
  await docker(['rmi', '--no-prune', IMAGE]);
  await timed('compose: user add before up (image rebuilt)', () =>
    compose(['run', '--rm', '-T', 'users', 'add', '--password-stdin', USER], { input: PASSWORD }),
  );
  await timed('compose: up', () => compose(['up', '-d']));
  try {
    await waitForRegistry(base);
    await login(host);
    const digest = await timed('compose: push and pull', () => pushAndPull(t, host, 'hello-world-api', 'v1'));
    await catalogAndTags(t, base, 'hello-world-api', ['v1']);

    // After `up`: another user, picked up by the running gateway; `exec` in the gateway, where
    // /auth is read-only, says so instead of a stack trace.
    const bobPassword = `bob-${randomBytes(4).toString('hex')}`;
    await compose(['run', '--rm', '-T', 'users', 'add', '--password-stdin', 'bob'], { input: bobPassword });
    await waitFor(async () => (await send(base, '/v2/', { headers: { authorization: `Basic ${Buffer.from(`bob:${bobPassword}`).toString('base64')}` } })).status === 200, 30_000, 500);
    const refused = await runFails('docker-compose', ['-f', file, 'exec', '-T', 'gateway', 'registry', 'user', 'add', '--password-stdin', 'carol'], {
      cwd: checkout, env, input: 'secret',
    });
    t.regex(refused, /cannot write \/auth\/registry\.password: it is on a read-only file system/);
    t.notRegex(refused, /EROFS|\n\s+at /, 'no raw error or stack trace');

    const gateway = await containerId('gateway', env, file);
    const storage = await containerId('storage', env, file);
    t.is(await processUid(gateway), '10001');
    t.is(await processUid(storage), '10001');
    const ports = await docker(['port', storage]).catch(() => '');
    t.is(ports.trim(), '', 'storage is not published');

    // A second stack on the same daemon: no hard-coded subnet, so its network does not overlap.
    await runOk('docker-compose', ['-f', file, '-p', `${project}two`, 'up', '--no-start'], { cwd: checkout, env, timeoutMs: 120_000 });
    await runOk('docker-compose', ['-f', file, '-p', `${project}two`, 'down', '-v'], { cwd: checkout, env, timeoutMs: 120_000 });

    // Storage killed (SIGKILL from the host, as a crash would): restarted by its policy, nothing lost.
    const pid = (await docker(['inspect', '--format', '{{.State.Pid}}', storage])).trim();
    process.kill(Number(pid), 'SIGKILL');
    await waitFor(async () => (await docker(['inspect', '--format', '{{.RestartCount}} {{.State.Running}}', storage])).trim().startsWith('1 true'), 60_000, 500);
    await docker(['rmi', `${host}/${USER}/hello-world-api:v1`]);
    const pulled = await timed('compose: pull after storage was killed', () =>
      waitFor(async () => (await run('docker', ['pull', `${host}/${USER}/hello-world-api:v1`], { env: engine!.env })).code === 0, 60_000, 1000),
    );
    t.true(pulled >= 0);
    await catalogAndTags(t, base, 'hello-world-api', ['v1']);

    await timed('compose: restart', () => compose(['restart']));
    await waitForRegistry(base);
    await pushAndPull(t, host, 'hello-world-api', 'v2');
    await timed('compose: down, up', async () => {
      await compose(['down']);
      await compose(['up', '-d']);
    });
    await waitForRegistry(base);
    await catalogAndTags(t, base, 'hello-world-api', ['v1', 'v2']);
    const again = pushedDigest(await docker(['push', `${host}/${USER}/hello-world-api:v1`]));
    t.is(again, digest, 'the same image after down and up');

    // Last: it throttles every client of this stack for a minute.
    await forgedForwardedForIsThrottled(t, base);
    // Docker's own verdict, from the compose healthcheck (first probe 30 s after the start).
    await timed('compose: healthy', async () => {
      for (const service of ['gateway', 'storage']) {
        const id = await containerId(service, env, file);
        await waitFor(async () => (await healthOf(id)) === 'healthy', 120_000, 2000);
      }
    });
    await compose(['down']);
    t.deepEqual(await anonymousVolumes(), [], 'no anonymous volume left behind by up and down');
  } finally {
    await run('docker-compose', ['-f', file, 'down', '-v'], { cwd: checkout, env, timeoutMs: 120_000 });
    await rm(join(checkout, 'data'), { recursive: true, force: true });
    await rm(join(checkout, 'auth'), { recursive: true, force: true });
  }
});

test.serial('docker-compose.nginx.yaml: nginx in front, the gateway not published, X-Forwarded-For believed only from nginx', async (t) => {
  t.timeout(15 * 60_000);
  const port = await freePort();
  const env = composeEnv({ nginx: port });
  const file = 'docker-compose.nginx.yaml';
  const compose = (args: readonly string[], options: RunOptions = {}) =>
    runOk('docker-compose', ['-f', file, ...args], { cwd: checkout, env, timeoutMs: 600_000, ...options });
  const base = `http://127.0.0.1:${port}`;
  const host = `127.0.0.1:${port}`;
  const readme = readmeCommands();
  t.true(readme.includes(`docker-compose -f ${file} up -d`), 'README: the nginx stack');
  await nginxImage;
  await mkdir(join(checkout, 'auth'), { recursive: true });
  await mkdir(join(checkout, 'data'), { recursive: true });
  await compose(['run', '--rm', '-T', 'users', 'add', '--password-stdin', USER], { input: PASSWORD });
  await timed('compose nginx: up', () => compose(['up', '-d']));
  try {
    await waitForRegistry(base);
    const gateway = await containerId('gateway', env, file);
    t.is((await docker(['port', gateway]).catch(() => '')).trim(), '', 'the gateway is not published');
    const nginx = await containerId('nginx', env, file);
    t.regex(await docker(['port', nginx]), new RegExp(`80/tcp -> 0\\.0\\.0\\.0:${port}`));
    await login(host);
    await timed('compose nginx: push and pull', () => pushAndPull(t, host, 'hello-world-api', 'nginx'));
    await catalogAndTags(t, base, 'hello-world-api', ['nginx']);
    // nginx passes the client's address on, and the gateway believes it: the access log shows
    // the docker-proxy's address, not nginx's 127.0.0.1.
    const lines = (await docker(['logs', gateway])).split('\n').filter((line) => line.startsWith('{'));
    const clients = lines
      .map((line) => JSON.parse(line) as { path?: string; user?: string; client?: string })
      .filter((entry) => entry.user === USER && entry.path?.startsWith('/v2/'))
      .map((entry) => entry.client);
    t.true(clients.length > 0, 'the gateway logs the pushes');
    t.false(clients.includes('127.0.0.1'), `the client is the one nginx saw, not nginx: ${[...new Set(clients)].join(', ')}`);
    await forgedForwardedForIsThrottled(t, base);
  } finally {
    await run('docker-compose', ['-f', file, 'down', '-v'], { cwd: checkout, env, timeoutMs: 120_000 });
  }
});

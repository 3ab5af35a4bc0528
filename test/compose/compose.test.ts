// docker-compose.yaml, docker-compose.nginx.yaml and the Dockerfile, checked without an engine:
// docker-compose itself must accept the files, and everything they name (commands, REGISTRY_*
// variables, ports, the socket, nginx's upstream, node flags) must exist in the code and agree
// with it. stack.test.ts builds and runs them for real.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { parse } from 'yaml';
import { parseListenAddress } from '../../common/config/address.js';
import { loadConfig } from '../../common/config/load.js';
import { gatewayEnvironment, nodeFlags, storageEnvironment } from '../../cli/commands/start.js';
import { runCli } from '../cli/run-cli.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface ComposeService {
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<{ target: number; published: string | number } | string>;
  /** docker-compose 1.x prints `source:target:mode` strings. */
  volumes?: Array<string | { type: string; source?: string; target: string }>;
  profiles?: string[];
  network_mode?: string;
  healthcheck?: { test: string[] };
}

const configs = new Map<string, Promise<{ services: Record<string, ComposeService> }>>();

/** `docker-compose config` of a file, once per file (python's start is slow on a loaded machine). */
function composeConfig(file: string): Promise<{ services: Record<string, ComposeService> }> {
  let config = configs.get(file);
  if (!config) {
    config = run('docker-compose', ['-f', file, 'config'], { cwd: REPO, timeout: 180_000 }).then(
      ({ stdout }) => parse(stdout) as { services: Record<string, ComposeService> },
    );
    configs.set(file, config);
  }
  return config;
}

function envOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? '']));
}

function publishedOf(service: ComposeService): string[] {
  return (service.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
}

test('docker-compose accepts docker-compose.yaml: gateway published on 5000 only, storage without a network', async (t) => {
  const { services } = await composeConfig('docker-compose.yaml');
  t.deepEqual(Object.keys(services).sort(), ['gateway', 'storage', 'users']);
  t.deepEqual(publishedOf(services.gateway!), ['5000:5000']);
  t.is(services.storage!.ports, undefined, 'storage must not be reachable around the gateway');
  t.is(services.storage!.network_mode, 'none');
  t.false('REGISTRY_HTTP_TRUSTEDPROXIES' in envOf(services.gateway!), 'nothing is in front: no forwarded header is believed');
  t.deepEqual(services.users!.profiles, ['tools'], '`users` runs only when asked (docker-compose run)');
});

test('docker-compose.nginx.yaml: only nginx is published; the gateway trusts nginx alone, on its loopback', async (t) => {
  const { services } = await composeConfig('docker-compose.nginx.yaml');
  t.deepEqual(Object.keys(services).sort(), ['gateway', 'nginx', 'storage', 'users']);
  t.deepEqual(publishedOf(services.nginx!), ['80:80']);
  t.is(services.gateway!.ports, undefined, 'the gateway is not published: nginx cannot be bypassed');
  t.is(services.gateway!.network_mode, 'service:nginx');
  const { config } = loadConfig({ env: envOf(services.gateway!), cwd: '/' });
  t.deepEqual(config.http.trustedproxies, ['127.0.0.1']);
  const addr = parseListenAddress(config.http.addr);
  t.true(addr.kind === 'tcp' && addr.host === '127.0.0.1', 'listens on the shared loopback only');
  const site = readFileSync(`${REPO}/nginx-compat/registry.conf`, 'utf8');
  t.true(addr.kind === 'tcp' && site.includes(`server ${addr.host}:${addr.port};`), "registry.conf's upstream is the gateway");
  const direct = (await composeConfig('docker-compose.yaml')).services;
  const sorted = (service: ComposeService) => ({ ...service, volumes: [...(service.volumes ?? [])].map(String).sort() });
  for (const name of ['storage', 'users']) t.deepEqual(sorted(services[name]!), sorted(direct[name]!), `${name} is the same service in both files`);
  const { REGISTRY_HTTP_ADDR: _a, REGISTRY_HTTP_TRUSTEDPROXIES: _b, ...gatewayEnv } = envOf(services.gateway!);
  const { REGISTRY_HTTP_ADDR: _c, ...directGatewayEnv } = envOf(direct.gateway!);
  t.deepEqual(gatewayEnv, directGatewayEnv, 'the two gateways differ only in address and trust');
});

test('no hard-coded subnet or address in either compose file', (t) => {
  for (const file of ['docker-compose.yaml', 'docker-compose.nginx.yaml']) {
    const text = readFileSync(`${REPO}/${file}`, 'utf8');
    t.notRegex(text, /subnet|ipv4_address|\b(?:10|172|192)\.\d+\.\d+\.\d+/, file);
  }
});

test("storage's and gateway's node flags and environment in the image are those `registry start` gives them", (t) => {
  const entrypoint = readFileSync(`${REPO}/docker-entrypoint.sh`, 'utf8');
  for (const [service, env] of [['storage', storageEnvironment()], ['gateway', gatewayEnvironment()]] as const) {
    const block = new RegExp(`\\n  ${service}\\)\\n([\\s\\S]*?);;`).exec(entrypoint)?.[1] ?? '';
    t.true(block.includes(`flags="${nodeFlags(service).join(' ')}"`), `${service} flags`);
    for (const name of ['UV_THREADPOOL_SIZE', 'MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']) {
      const expected = name in env && env[name] !== process.env[name] ? env[name] : undefined;
      if (expected !== undefined) t.true(block.includes(`${name}="\${${name}:-${expected}}"`), `${service} ${name}`);
    }
  }
  t.notRegex(readFileSync(`${REPO}/Dockerfile`, 'utf8'), /max-semi-space|MALLOC_|UV_THREADPOOL/, 'no process tuning for every command');
});

test('both long-running services have a healthcheck, and the image has one', async (t) => {
  const { services } = await composeConfig('docker-compose.yaml');
  t.deepEqual(services.gateway!.healthcheck?.test, ['CMD', 'node', '/app/dist/cli/healthcheck.js']);
  t.deepEqual(services.storage!.healthcheck?.test, ['CMD', 'node', '/app/dist/cli/healthcheck.js', 'storage']);
  t.regex(readFileSync(`${REPO}/Dockerfile`, 'utf8'), /^HEALTHCHECK .*CMD \["node", "\/app\/dist\/cli\/healthcheck\.js"\]$/m);
});

test('each service runs a command the CLI has, with a configuration the loader accepts without warnings', async (t) => {
  const { services } = await composeConfig('docker-compose.yaml');
  for (const name of ['storage', 'gateway']) {
    const service = services[name]!;
    const command = service.command![0]!;
    const help = await runCli([command, '--help']);
    t.is(help.code, 0, `registry ${command} --help`);
    const { warnings, config } = loadConfig({ env: envOf(service), cwd: '/' });
    t.deepEqual(warnings, [], `${name}: every REGISTRY_* variable is a real setting`);
    if (name === 'gateway') {
      const addr = parseListenAddress(config.http.addr);
      const targets = (service.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').pop()) : p.target));
      t.true(addr.kind === 'tcp' && targets.every((port) => port === addr.port), 'published ports reach http.addr');
      t.is(config.auth?.htpasswd?.path, '/auth/registry.password');
      t.is(config.http.trustedproxies.length, 0);
    }
  }
});

test('gateway and storage meet on a unix socket inside a volume both mount', async (t) => {
  const { services } = await composeConfig('docker-compose.yaml');
  const storage = loadConfig({ env: envOf(services.storage!), cwd: '/' }).config;
  const gateway = loadConfig({ env: envOf(services.gateway!), cwd: '/' }).config;
  t.is(storage.storageservice.addr, gateway.storageservice.addr);
  const socket = parseListenAddress(storage.storageservice.addr);
  if (socket.kind !== 'unix') return t.fail('storage should listen on a unix socket');
  for (const name of ['storage', 'gateway']) {
    const mounts = services[name]!.volumes!.map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1]! } : v));
    const mount = mounts.find((v) => socket.path.startsWith(`${v.target}/`));
    t.is(mount?.source, 'storage-socket', `${name} mounts the socket's named volume`);
  }
  // The data volume is where the image's VOLUME is (and its REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY).
  const dockerfile = readFileSync(`${REPO}/Dockerfile`, 'utf8');
  const dataMount = services.storage!.volumes!.map((v) => (typeof v === 'string' ? v.split(':')[1]! : v.target)).find((target) => !socket.path.startsWith(`${target}/`));
  t.true(dockerfile.includes(`VOLUME ["${dataMount}"]`), `data at ${dataMount}`);
  t.true(dockerfile.includes(`REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=${dataMount}`));
  t.false('REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY' in envOf(services.storage!), 'the image sets it');
  // Without a token, `registry storage` starts only when the socket's directory is private: the
  // image makes it 700, and the named volume starts as a copy of it.
  const socketDir = socket.path.slice(0, socket.path.lastIndexOf('/'));
  if (storage.storageservice.token === undefined) {
    t.regex(readFileSync(`${REPO}/Dockerfile`, 'utf8'), new RegExp(`chmod 700 ${socketDir}\\b`));
  }
});

test('a registry:2 compose file from the how-to works with only the image changed', async (t) => {
  // The how-to's second compose file, verbatim but for `image:`.
  const howto = {
    version: '3',
    services: {
      registry: {
        image: 'oci-registry-ts:latest',
        restart: 'always',
        ports: ['5000:5000'],
        environment: {
          REGISTRY_AUTH: 'htpasswd',
          REGISTRY_AUTH_HTPASSWD_REALM: 'Registry',
          REGISTRY_AUTH_HTPASSWD_PATH: '/auth/registry.password',
          REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/Data',
        },
        volumes: ['./auth:/auth', '/Data:/Data'],
      },
    },
  };
  const { mkdtemp, writeFile } = await import('node:fs/promises');
  const dir = await mkdtemp('/tmp/compose-howto-');
  await writeFile(`${dir}/docker-compose.yaml`, JSON.stringify(howto));
  const { services } = await composeConfig(`${dir}/docker-compose.yaml`);
  const { config, warnings } = loadConfig({ env: envOf(services.registry!), cwd: '/' });
  t.deepEqual(warnings, []);
  t.is(config.storage.filesystem.rootdirectory, '/Data');
  t.is(config.auth?.htpasswd?.realm, 'Registry');
  t.is(parseListenAddress(config.http.addr).kind === 'tcp' && (parseListenAddress(config.http.addr) as { port: number }).port, 5000);
  // The image's default command is `start` (both processes), listening on 5000 like registry:2.
  const dockerfile = readFileSync(`${REPO}/Dockerfile`, 'utf8');
  t.regex(dockerfile, /^CMD \["start"\]$/m);
  t.regex(dockerfile, /^EXPOSE 5000$/m);
});

test('everything the Dockerfile copies exists', (t) => {
  const dockerfile = readFileSync(`${REPO}/Dockerfile`, 'utf8');
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
  t.true(sources.length >= 5);
  for (const source of sources) t.true(existsSync(`${REPO}/${source}`), source);
  // .dockerignore sends only those: never ./data, ./auth, certificates, dist or node_modules.
  const ignore = readFileSync(`${REPO}/.dockerignore`, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  t.is(ignore[0], '*');
  t.deepEqual(ignore.slice(1).map((l) => l.replace(/^!/, '').replace(/\/$/, '')).sort(), [...new Set(sources)].sort());
});

test('the build stage compiles the registry only, not test/', (t) => {
  const dockerfile = readFileSync(`${REPO}/Dockerfile`, 'utf8');
  t.notRegex(dockerfile, /^COPY test\b/m);
  const project = /npx tsc -p (\S+)/.exec(dockerfile)?.[1];
  t.is(project, 'tsconfig.image.json');
  const { include } = JSON.parse(readFileSync(`${REPO}/${project}`, 'utf8')) as { include: string[] };
  t.deepEqual([...include].sort(), ['cli', 'common', 'gateway', 'storage']);
});

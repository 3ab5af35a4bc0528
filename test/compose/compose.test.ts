// docker-compose.yaml and the Dockerfile cannot be run here (no Docker engine builds images on
// these machines), so they are checked the two ways that can be: docker-compose itself must
// accept the file, and everything it names (commands, REGISTRY_* variables, ports, the socket,
// nginx's upstream) must exist in the code and agree with it.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { parse } from 'yaml';
import { parseListenAddress } from '../../common/config/address.js';
import { loadConfig } from '../../common/config/load.js';
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
}

async function composeConfig(file: string): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout } = await run('docker-compose', ['-f', file, 'config'], { cwd: REPO, timeout: 30_000 });
  return parse(stdout) as { services: Record<string, ComposeService> };
}

function envOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? '']));
}

test('docker-compose accepts docker-compose.yaml: gateway published on 5000 and 80, storage not published', async (t) => {
  const { services } = await composeConfig('docker-compose.yaml');
  t.deepEqual(Object.keys(services).sort(), ['gateway', 'nginx', 'storage']);
  const published = (services.gateway!.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
  t.deepEqual(published.sort(), ['5000:5000', '80:5000']);
  t.is(services.storage!.ports, undefined, 'storage must not be reachable around the gateway');
  t.deepEqual(services.nginx!.profiles, ['nginx'], 'nginx is optional');
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
  t.is(storage.storage.filesystem.rootdirectory, '/Data');
  // Without a token, `registry storage` starts only when the socket's directory is private: the
  // image makes it 700, and the named volume starts as a copy of it.
  const socketDir = socket.path.slice(0, socket.path.lastIndexOf('/'));
  if (storage.storageservice.token === undefined) {
    t.regex(readFileSync(`${REPO}/Dockerfile`, 'utf8'), new RegExp(`chmod 700 ${socketDir}\\b`));
  }
});

test("the nginx service points nginx-compat/registry.conf's upstream at the gateway", async (t) => {
  const { services } = await composeConfig('docker-compose.yaml');
  const script = services.nginx!.command!.join(' ');
  const site = readFileSync(`${REPO}/nginx-compat/registry.conf`, 'utf8');
  const replaced = /s\/([^/]+)\/([^/]+)\//.exec(script);
  t.truthy(replaced);
  t.true(site.includes(`server ${replaced![1]};`), 'the sed target is the upstream in registry.conf');
  t.is(replaced![2], 'docker-registry:5000', 'the alias and port of the gateway service');
  t.true(script.includes('/etc/nginx/registry.conf'));
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
});

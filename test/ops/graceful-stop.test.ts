// Graceful stop of `registry start`: SIGTERM during a 512 MiB chunked push. The gateway stops
// taking connections at once, serves the rest of the PATCH and the PUTs that follow on the same
// keep-alive connection (http.draintimeout), storage outlives it, everything exits 0, and after a
// restart the image is there with the right bytes. A second signal stops at once.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { Readable } from 'node:stream';
import { isListening } from '../helpers/net.js';
import { seededChunks, sha256 } from '../helpers/oci-image.js';
import { basicAuth, RegistryProcess } from '../helpers/registry-process.js';
import { locationPath, RegistryClient } from '../helpers/storage-http.js';
import { waitFor } from '../helpers/wait.js';
import { startOpsRegistry } from './helpers.js';

const MiB = 1 << 20;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The client port of the connection it came on. */
  localPort: number;
}

/** One request over `agent` (one keep-alive connection for the whole push). */
function request(agent: http.Agent, port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | Readable): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), localPort: req.socket?.localPort ?? -1 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** `registry start` with this drain timeout, and one keep-alive connection to push over. */
async function drainingRegistry(t: ExecutionContext, drainTimeout: string) {
  const ops = await startOpsRegistry(t, { REGISTRY_HTTP_DRAINTIMEOUT: drainTimeout });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  return { ...ops, agent, port: ops.setup.httpPort, headers: { authorization: basicAuth(ops.setup.user, ops.setup.password) } };
}

test('SIGTERM during a 512 MiB push: the push completes on its open connection, new connections are refused, all exit 0', async (t) => {
  const { registry, setup, agent, port, headers } = await drainingRegistry(t, '240s');
  const name = `${setup.user}/big`;

  // The blob streams from a generator, hashed as it goes; it stops at 64 MiB until the SIGTERM.
  const size = 512 * MiB;
  const hash = createHash('sha256');
  const chunks = seededChunks('graceful stop', size, 4 * MiB);
  let sent = 0;
  let release: () => void = () => undefined;
  const signalled = new Promise<void>((resolve) => (release = resolve));
  let reachedPause: () => void = () => undefined;
  const paused = new Promise<void>((resolve) => (reachedPause = resolve));
  const body = new Readable({
    read() {
      const next = () => {
        const { value, done } = chunks.next();
        if (done) return void this.push(null);
        hash.update(value);
        sent += value.length;
        this.push(value);
      };
      if (sent === 64 * MiB) {
        reachedPause();
        void signalled.then(next);
      } else next();
    },
  });

  const started = await request(agent, port, 'POST', `/v2/${name}/blobs/uploads/`, headers);
  t.is(started.status, 202);
  const patching = request(agent, port, 'PATCH', locationPath(String(started.headers.location)), { ...headers, 'content-type': 'application/octet-stream' }, body);
  await paused;

  registry.children();
  process.kill(registry.pid, 'SIGTERM');
  await waitFor(async () => (await readFile(setup.logFile, 'utf8')).includes('draining: no new connections'), 30_000);
  // The listening socket is closed: a new client is refused, the open connection carries on.
  await waitFor(async () => !(await isListening('127.0.0.1', port)), 10_000);
  t.true(registry.running, 'the registry still runs while it drains');
  release();

  const patched = await patching;
  t.is(patched.status, 202, patched.body.toString());
  t.is(sent, size);
  const layerDigest = `sha256:${hash.digest('hex')}`;
  const committed = await request(agent, port, 'PUT', `${locationPath(String(patched.headers.location))}&digest=${layerDigest}`, headers);
  t.is(committed.status, 201, committed.body.toString());

  // More requests on the same connection while draining: the config blob and the manifest.
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configUpload = await request(agent, port, 'POST', `/v2/${name}/blobs/uploads/`, headers);
  t.is(configUpload.status, 202);
  const configPut = await request(agent, port, 'PUT', `${locationPath(String(configUpload.headers.location))}&digest=${sha256(config)}`, { ...headers, 'content-type': 'application/octet-stream' }, config);
  t.is(configPut.status, 201);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size }],
    }),
  );
  const manifestPut = await request(agent, port, 'PUT', `/v2/${name}/manifests/v1`, { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, manifest);
  t.is(manifestPut.status, 201, manifestPut.body.toString());
  const ports = new Set([started, patched, committed, configUpload, configPut, manifestPut].map((answer) => answer.localPort));
  t.is(ports.size, 1, 'the whole push went over one connection');

  // Once the connection is idle the gateway exits, then storage, then the parent: all cleanly.
  await waitFor(() => !registry.running, 60_000);
  t.deepEqual(registry.exitStatus, { code: 0, signal: null });
  t.deepEqual(await registry.waitAllGone(5000), [], 'nothing had to be killed');
  const log = await readFile(setup.logFile, 'utf8');
  t.true(log.indexOf('"msg":"gateway stopped"') < log.indexOf('"msg":"storage stopping"'), 'storage outlived the gateway');

  // The image is there after a restart, byte for byte.
  const restarted = await RegistryProcess.start(setup);
  t.teardown(() => restarted.stop(5000));
  const client = new RegistryClient(`http://127.0.0.1:${port}`, headers);
  const got = await client.getManifest(name, 'v1');
  t.is(got.status, 200);
  t.true(got.body.equals(manifest));
  const downloaded = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/v2/${name}/blobs/${layerDigest}`, headers }, (res) => {
      const check = createHash('sha256');
      res.on('data', (chunk: Buffer) => check.update(chunk));
      res.on('end', () => resolve(`sha256:${check.digest('hex')}`));
      res.on('error', reject);
    }).on('error', reject);
  });
  t.is(downloaded, layerDigest);
});

test('a second SIGTERM stops at once, without waiting for the drain', async (t) => {
  const { registry, setup, agent, headers } = await drainingRegistry(t, '300s');
  const started = await request(agent, setup.httpPort, 'POST', `/v2/${setup.user}/stalled/blobs/uploads/`, headers);
  // A PATCH that sends a little and then nothing: the drain would wait for it for 300 s.
  const stalled = new Readable({ read() {} });
  stalled.push(Buffer.alloc(MiB));
  request(agent, setup.httpPort, 'PATCH', locationPath(String(started.headers.location)), { ...headers, 'content-type': 'application/octet-stream' }, stalled).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));
  registry.children();
  process.kill(registry.pid, 'SIGTERM');
  await waitFor(async () => (await readFile(setup.logFile, 'utf8')).includes('draining: no new connections'), 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.true(registry.running, 'the first SIGTERM waits for the open request');
  process.kill(registry.pid, 'SIGTERM');
  const elapsed = await waitFor(() => !registry.running, 10_000);
  t.true(elapsed < 10_000);
  t.deepEqual(await registry.waitAllGone(5000), [], 'the children are gone too');
  stalled.destroy();
});

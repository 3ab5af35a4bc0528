// The proxy to storage: real storage for registry behaviour (blob round trips, 32 concurrent
// uploads, ranges, unix socket, internal token and headers), a recording upstream only where a
// test must watch the hop itself (aborts, streaming without buffering, timeouts).
import test from 'ava';
import http from 'node:http';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGateway } from '../../gateway/main.js';
import { runStorage } from '../../storage/main.js';
import { testConfig } from '../helpers/config.js';
import { sha256 } from '../helpers/digest.js';
import { locationPath, RegistryClient } from '../helpers/storage-http.js';
import { captureLogger } from './helpers/capture-logger.js';
import { request } from './helpers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream, type UpstreamHandler } from './helpers/recording-upstream.js';
import { startStack, type Stack } from './helpers/stack.js';

const MiB = 1024 * 1024;
let stack: Stack;

test.before(async () => {
  stack = await startStack({
    token: 'internal-test-token',
    config: { http: { headers: { 'X-Content-Type-Options': ['nosniff'] } } },
  });
});
test.after.always(async () => {
  await stack?.close();
});

test('a blob goes up (POST, PATCH, PUT ?digest=) and comes back byte for byte, with ranges and HEAD', async (t) => {
  const data = randomBytes(3 * MiB + 17);
  const client = new RegistryClient(stack.gatewayUrl);
  const pushed = await client.uploadBlob('probe/roundtrip', data);
  t.is(pushed.final.headers['docker-content-digest'], pushed.digest);
  t.is(pushed.final.headers['x-content-type-options'], 'nosniff');

  const pulled = await client.getBlob('probe/roundtrip', pushed.digest);
  t.is(pulled.status, 200);
  t.is(pulled.headers['content-length'], String(data.length));
  t.is(pulled.headers['docker-content-digest'], pushed.digest);
  t.is(pulled.headers['docker-distribution-api-version'], 'registry/2.0');
  t.true(pulled.body.equals(data));

  const head = await request(`${stack.gatewayUrl}/v2/probe/roundtrip/blobs/${pushed.digest}`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(data.length));
  t.is(head.body.length, 0);

  const ranged = await request(`${stack.gatewayUrl}/v2/probe/roundtrip/blobs/${pushed.digest}`, { headers: { range: 'bytes=1000-1999' } });
  t.is(ranged.status, 206);
  t.is(ranged.headers['content-range'], `bytes 1000-1999/${data.length}`);
  t.true(ranged.body.equals(data.subarray(1000, 2000)));
});

test('a monolithic upload (POST then PUT with the body, as containerd does) works', async (t) => {
  const data = randomBytes(512 * 1024);
  const digest = sha256(data);
  const started = await request(`${stack.gatewayUrl}/v2/probe/mono/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  t.is(started.status, 202);
  const target = new URL(locationPath(String(started.headers.location)), stack.gatewayUrl);
  target.searchParams.set('digest', digest);
  const put = await request(target.toString(), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
  });
  t.is(put.status, 201);
  t.true((await new RegistryClient(stack.gatewayUrl).getBlob('probe/mono', digest)).body.equals(data));
});

test('32 parallel uploads of a few MiB each all land with the right digests', async (t) => {
  const blobs = Array.from({ length: 32 }, (_, i) => randomBytes(2 * MiB + i * 1031));
  const client = new RegistryClient(stack.gatewayUrl);
  const pushed = await Promise.all(blobs.map((data, i) => client.uploadBlob(`probe/parallel${i % 4}`, data)));
  t.deepEqual(pushed.map((p) => p.digest), blobs.map(sha256));
  const pulled = await Promise.all(pushed.map((p, i) => client.getBlob(`probe/parallel${i % 4}`, p.digest)));
  for (const [i, res] of pulled.entries()) {
    t.is(res.status, 200);
    t.is(sha256(res.body), pushed[i]!.digest);
  }
});

test('without auth, a client-sent x-registry-user or internal token never reaches storage', async (t) => {
  const res = await request(`${stack.gatewayUrl}/v2/probe/headers/blobs/uploads/`, {
    method: 'POST',
    headers: { 'x-registry-user': 'admin', 'x-registry-internal-token': 'forged', 'content-length': '0' },
  });
  t.is(res.status, 202, 'the gateway replaced the forged token with the real one');
  const seen = stack.storageLogs.lines().find((l) => l.reqId === res.headers['x-request-id']);
  t.truthy(seen);
  t.is(seen!.user, undefined);
  // And storage itself refuses anyone without the token: only the gateway gets in.
  const direct = await request(`${stack.storageUrl}/v2/`);
  t.is(direct.status, 403);
});

test('storage down: 503 UNAVAILABLE as an OCI error, quickly, with the standard headers', async (t) => {
  const closedPort = await freePort();
  const logs = captureLogger();
  const gateway = await runGateway(
    testConfig({ storageservice: { addr: `127.0.0.1:${closedPort}` }, http: { headers: { 'X-Content-Type-Options': ['nosniff'] } } }),
    logs.logger,
  );
  try {
    const started = Date.now();
    const res = await request(`${gateway.urls[0]}/v2/probe/x/blobs/uploads/`, {
      method: 'POST',
      body: randomBytes(256 * 1024),
    });
    t.true(Date.now() - started < 2000, 'answered without hanging');
    t.is(res.status, 503);
    t.is(res.headers['content-type'], 'application/json; charset=utf-8');
    t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
    t.is(res.headers['x-content-type-options'], 'nosniff');
    t.is(JSON.parse(res.text).errors[0].code, 'UNAVAILABLE');
    // HEAD gets the status without a body.
    const head = await request(`${gateway.urls[0]}/v2/`, { method: 'HEAD' });
    t.is(head.status, 503);
    t.is(head.body.length, 0);
    t.true(logs.lines().some((l) => l.status === 503 && l.msg === 'request'));
  } finally {
    await gateway.close();
  }
});

test('storage on a unix socket (storageservice.addr unix:/path)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-unix-'));
  const socketPath = join(dir, 'storage.sock');
  const storage = await runStorage(
    testConfig({ storage: { filesystem: { rootdirectory: join(dir, 'data') } }, storageservice: { addr: `unix:${socketPath}` } }),
    captureLogger('warn').logger,
  );
  const gateway = await runGateway(testConfig({ storageservice: { addr: `unix:${socketPath}` } }), captureLogger('warn').logger);
  try {
    const data = randomBytes(300 * 1024);
    const client = new RegistryClient(gateway.urls[0]!);
    const pushed = await client.uploadBlob('probe/unix', data);
    t.true((await client.getBlob('probe/unix', pushed.digest)).body.equals(data));
  } finally {
    await gateway.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
});

// --- the hop itself, watched with a recording upstream ---

async function withRecordingGateway(
  handler: UpstreamHandler | undefined,
  body: (gatewayUrl: string, upstream: RecordingUpstream) => Promise<void>,
  upstreamIdleTimeoutMs?: number,
): Promise<void> {
  const upstream = await startRecordingUpstream(handler);
  // Reached by URL, as storage on another machine: the gateway then sends exactly the test's
  // requests (no file handoff question on the first blob download).
  const storageservice = { addr: upstream.addr, url: `http://${upstream.addr}` };
  const gateway = await runGateway(testConfig({ storageservice }), captureLogger('warn').logger, {
    upstreamIdleTimeoutMs,
    closeGraceMs: 200,
  });
  try {
    await body(gateway.urls[0]!, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
}

test('request headers clients rely on reach storage unchanged, and storage\'s status and headers come back unchanged', async (t) => {
  const answer: UpstreamHandler = (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(416, {
        'content-type': 'application/json',
        'content-range': 'bytes */1234',
        location: 'http://elsewhere.example/v2/x/blobs/uploads/abc?_state=s',
        'docker-upload-uuid': 'abc',
        'x-storage-says': 'hello',
      });
      res.end('{"errors":[{"code":"RANGE_INVALID","message":"invalid content range","detail":null}]}');
    });
  };
  await withRecordingGateway(answer, async (gatewayUrl, upstream) => {
    const body = Buffer.from('0123456789');
    const headers = {
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      range: 'bytes=0-9',
      'content-range': '0-9',
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'docker-content-digest': sha256(body),
      'user-agent': 'docker/20.10.24',
    };
    const res = await request(`${gatewayUrl}/v2/probe/headers/blobs/uploads/abc?_state=s&digest=x`, { method: 'PATCH', headers, body });
    const seen = upstream.requests[0]!;
    for (const [name, value] of Object.entries(headers)) t.is(seen.headers[name], value, name);
    t.is(seen.url, '/v2/probe/headers/blobs/uploads/abc?_state=s&digest=x');
    t.is(seen.bodyBytes, body.length);
    t.is(res.status, 416);
    t.is(res.headers['content-range'], 'bytes */1234');
    t.is(res.headers.location, 'http://elsewhere.example/v2/x/blobs/uploads/abc?_state=s');
    t.is(res.headers['docker-upload-uuid'], 'abc');
    t.is(res.headers['x-storage-says'], 'hello');
    t.is(JSON.parse(res.text).errors[0].code, 'RANGE_INVALID');
  });
});

test('uploads stream: storage sees the first bytes before the client has sent the rest', async (t) => {
  await withRecordingGateway(undefined, async (gatewayUrl, upstream) => {
    const url = new URL(`${gatewayUrl}/v2/probe/stream/blobs/uploads/some-id`);
    const chunk = randomBytes(256 * 1024);
    const req = http.request(url, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' } });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(chunk);
    // If the gateway buffered the body, this would never happen before req.end().
    await waitFor(() => (upstream.requests[0]?.bodyBytes ?? 0) >= chunk.length, 10_000, 20);
    req.end(chunk);
    t.is(await answered, 200);
    t.is(upstream.requests[0]!.bodyBytes, 2 * chunk.length);
  });
});

test('a client that goes away mid-upload aborts the upstream request', async (t) => {
  await withRecordingGateway(undefined, async (gatewayUrl, upstream) => {
    const req = http.request(new URL(`${gatewayUrl}/v2/probe/abort/blobs/uploads/some-id`), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(64 * MiB) },
    });
    req.on('error', () => undefined);
    req.write(randomBytes(MiB));
    await waitFor(() => (upstream.requests[0]?.bodyBytes ?? 0) > 0, 10_000, 20);
    req.socket?.destroy();
    req.destroy();
    await upstream.ended(1);
    t.true(upstream.requests[0]!.aborted);
    t.true(upstream.requests[0]!.bodyBytes < 64 * MiB);
  });
});

test('a client that goes away mid-download aborts the upstream response', async (t) => {
  // Storage streams "forever" (respecting backpressure) until its response is cut.
  const endless: UpstreamHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = randomBytes(64 * 1024);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };
  await withRecordingGateway(endless, async (gatewayUrl, upstream) => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(new URL(`${gatewayUrl}/v2/probe/abort/blobs/sha256:${'a'.repeat(64)}`), (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    await upstream.ended(1);
    t.true(upstream.requests[0]!.aborted);
  });
});

test('an upstream that stops answering gets a 504 after the idle timeout, not a hang', async (t) => {
  const silent: UpstreamHandler = (req) => req.resume();
  await withRecordingGateway(
    silent,
    async (gatewayUrl) => {
      const res = await request(`${gatewayUrl}/v2/`);
      t.is(res.status, 504);
      t.is(JSON.parse(res.text).errors[0].code, 'UNAVAILABLE');
    },
    300,
  );
});

test('an upstream that drops the connection before answering gets a 502', async (t) => {
  const rude: UpstreamHandler = (req) => req.socket.destroy();
  await withRecordingGateway(rude, async (gatewayUrl) => {
    const res = await request(`${gatewayUrl}/v2/`);
    t.is(res.status, 502);
    t.is(res.headers['docker-distribution-api-version'], 'registry/2.0');
    t.truthy(JSON.parse(res.text).errors[0].code);
  });
});


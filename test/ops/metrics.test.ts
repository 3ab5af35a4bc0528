// Prometheus metrics of a real `registry start` (gateway + storage), scraped from the debug
// listener before and after real pushes and pulls through the API: the counters move by exactly
// what was sent, and no repository name ever becomes a label.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { basicAuth } from '../helpers/registry-process.js';
import { seededBytes, sha256 } from '../helpers/oci-image.js';
import { expectStatus, send } from '../helpers/storage-http.js';
import { parseSamples } from './helpers.js';
import { startOpsRegistry } from './helpers.js';
import { recordGcRun, storageRegistry } from '../../storage/metrics.js';

const gw = { service: 'gateway' };
const st = { service: 'storage' };

test('a push and a pull move the request, byte, login, denial, driver and upload counters by what was sent', async (t) => {
  const ops = await startOpsRegistry(t, {}, async (setup) => {
    const policy = join(setup.dir, 'auth', 'access.yml');
    await writeFile(policy, `rules:\n  - repositories: ["${setup.user}/**"]\n    users: ["*"]\n    actions: [pull, push, delete]\n`);
    setup.env.REGISTRY_ACCESS_PATH = policy;
  });
  const { client, scrape, setup } = ops;
  const name = `${setup.user}/zebracorn`;
  const layer = seededBytes('metrics layer', 300_000);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );

  const before = await scrape();
  // 10 authenticated requests: 2 x (POST, PATCH, PUT), the manifest, its GET, the blob GET, one denied.
  await client.pushBlobStreamed(name, config);
  await client.pushBlobStreamed(name, layer);
  await client.pushManifest(name, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  expectStatus(await client.getManifest(name, 'v1'), 200, 'GET manifest');
  const pulled = await client.getBlob(name, sha256(layer));
  expectStatus(pulled, 200, 'GET blob');
  t.true(pulled.body.equals(layer));
  expectStatus(await client.send('/v2/someone-else/zebracorn2/blobs/uploads/', { method: 'POST' }), 403, 'POST outside the namespace');
  const wrong = await send(ops.base, '/v2/', { headers: { authorization: basicAuth(setup.user, 'not the password') } });
  t.is(wrong.status, 401);
  const after = await scrape();

  const delta = (metric: string, labels: Record<string, string>) => after.get(metric, labels) - before.get(metric, labels);
  const requests = (route: string, method: string, status: string) => delta('registry_http_requests_total', { ...gw, route, method, status });
  t.is(requests('upload-start', 'POST', '202'), 2);
  t.is(requests('upload', 'PATCH', '202'), 2);
  t.is(requests('upload', 'PUT', '201'), 2);
  t.is(requests('manifest', 'PUT', '201'), 1);
  t.is(requests('manifest', 'GET', '200'), 1);
  t.is(requests('blob', 'GET', '200'), 1);
  t.is(requests('upload-start', 'POST', '403'), 1);
  t.is(requests('base', 'GET', '401'), 1);
  t.is(delta('registry_http_request_duration_seconds_count', { ...gw, route: 'manifest', method: 'PUT' }), 1);
  t.is(delta('registry_http_received_bytes_total', { ...gw, route: 'upload' }), config.length + layer.length);
  t.is(delta('registry_http_received_bytes_total', { ...gw, route: 'manifest' }), manifest.length);
  t.is(delta('registry_http_sent_bytes_total', { ...gw, route: 'blob' }), layer.length);
  t.is(delta('registry_auth_logins_total', { ...gw, result: 'accepted' }), 10);
  t.is(delta('registry_auth_logins_total', { ...gw, result: 'refused' }), 1);
  t.is(delta('registry_auth_logins_total', { ...gw, result: 'throttled' }), 0);
  // Every check either found the password in the cache or verified its hash.
  t.is(delta('registry_auth_credential_cache_total', { ...gw, result: 'hit' }) + delta('registry_auth_credential_cache_total', { ...gw, result: 'miss' }), 11);
  t.true(delta('registry_auth_credential_cache_total', { ...gw, result: 'hit' }) >= 8);
  t.is(delta('registry_access_denials_total', { ...gw, action: 'pull' }), 1);

  // Storage's own series, read by the gateway over the internal connection.
  t.is(after.get('registry_storage_scrape_up', gw), 1);
  const driverOps = (operation: string) => after.sum('registry_storage_driver_operation_duration_seconds_count', { ...st, operation }) - before.sum('registry_storage_driver_operation_duration_seconds_count', { ...st, operation });
  t.true(driverOps('putContent') >= 3, 'links, the manifest and the tag were written through the driver');
  t.true(driverOps('move') + driverOps('writer.commit') >= 2, 'two blobs were committed');
  t.is(after.sum('registry_storage_driver_errors_total', st), 0);
  t.true(after.get('process_cpu_user_seconds_total', gw) > 0);
  t.true(after.get('process_cpu_user_seconds_total', st) > 0);
  t.true(after.get('nodejs_heap_size_used_bytes', st) > 0);

  // Uploads in progress: one open session, then none.
  const session = await client.startUpload(name);
  t.is((await scrape()).get('registry_uploads_in_progress', st), 1);
  expectStatus(await client.send(session, { method: 'DELETE' }), 204, 'DELETE upload');
  t.is((await scrape()).get('registry_uploads_in_progress', st), 0);

  // Bounded labels: no repository name, user or digest anywhere in the exposition.
  const text = (await send(ops.debugBase, '/metrics')).text;
  t.false(text.includes("zebracorn"), "no repository name");
  t.false(text.includes(setup.user), 'no user name');
  t.false(text.includes('sha256'), 'no digest');
  // Each family is announced once (Prometheus refuses a family written twice).
  const types = text.split('\n').filter((line) => line.startsWith('# TYPE '));
  t.is(new Set(types).size, types.length);
});

test('metrics are served on the debug listener only, never on the public port', async (t) => {
  const ops = await startOpsRegistry(t);
  t.is((await send(ops.base, '/metrics')).status, 404);
  t.is((await ops.client.send('/metrics')).status, 404);
  t.is((await send(ops.debugBase, '/debug/vars')).status, 404);
  const scraped = await send(ops.debugBase, '/metrics');
  t.is(scraped.status, 200);
  t.regex(scraped.header('content-type'), /^text\/plain; version=0\.0\.4/);
});

test('recordGcRun counts runs and the bytes, blobs and manifests a garbage collection reclaimed', async (t) => {
  const read = async () => parseSamples(await storageRegistry.metrics());
  const before = await read();
  recordGcRun({ bytesReclaimed: 5000, blobsDeleted: ['sha256:a', 'sha256:b'], manifestsDeleted: ['sha256:c'] }, { durationMs: 1500 });
  recordGcRun({ bytesReclaimed: 7000, blobsDeleted: 3, manifestsDeleted: 0 }, { dryRun: true });
  recordGcRun(undefined, { failed: true });
  const after = await read();
  const delta = (metric: string, labels: Record<string, string> = {}) => after.get(metric, { ...st, ...labels }) - before.get(metric, { ...st, ...labels });
  t.is(delta('registry_gc_runs_total', { result: 'completed', mode: 'delete' }), 1);
  t.is(delta('registry_gc_runs_total', { result: 'completed', mode: 'dry-run' }), 1);
  t.is(delta('registry_gc_runs_total', { result: 'failed', mode: 'delete' }), 1);
  t.is(delta('registry_gc_reclaimed_bytes_total'), 5000, 'a dry run reclaims nothing');
  t.is(delta('registry_gc_deleted_blobs_total'), 2);
  t.is(delta('registry_gc_deleted_manifests_total'), 1);
  t.is(delta('registry_gc_duration_seconds_count'), 1);
  t.true(after.get('registry_gc_last_run_timestamp_seconds', st) > Date.now() / 1000 - 60);
});

// Online garbage collection under pushes (issue 10): pushers push images through the API, the
// way docker does (HEAD each blob, upload the missing ones, PUT the manifest; start over when the
// registry answers that a blob is unknown), while storage collects every second with a grace
// period of 0 and a rule deleting untagged manifests at once. Afterwards every image whose
// manifest PUT was acknowledged pulls with the right content, and the untagged images and
// orphan blobs pushed before are gone from disk.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { onGcRun, type GcReport } from '../../storage/registry/garbage-collector.js';
import { descriptorOf, jsonBytes, MEDIA, pushImage, uniqueBlob, type PushedImage } from '../helpers/storage-fixtures.js';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';
import { startStorage } from '../helpers/storage-server.js';
import { waitFor } from '../helpers/wait.js';

const PUSHERS = 4;
const PUSH_FOR_MS = 12_000;

function blobFile(root: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

async function exists(path: string): Promise<boolean> {
  return await access(path).then(
    () => true,
    () => false,
  );
}

interface Acknowledged {
  name: string;
  tag: string;
  digest: string;
  blobs: Buffer[];
}

/** docker's push: HEAD, upload what is missing, PUT the manifest; undefined when the registry refused it. */
async function dockerLikePush(client: RegistryClient, name: string, tag: string, layers: Buffer[], pauseMs: number): Promise<Acknowledged | undefined> {
  const config = jsonBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag });
  for (const blob of [config, ...layers]) {
    const head = await client.getBlob(name, sha256(blob), {}, 'HEAD');
    if (head.status !== 200) await client.pushBlob(name, blob);
  }
  // A slow client: its blobs are unreferenced until the manifest comes, and with no grace period
  // a collection may take them meanwhile; then the manifest PUT must be refused, not acknowledged.
  if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: descriptorOf(MEDIA.ociConfig, config),
    layers: layers.map((layer) => descriptorOf(MEDIA.ociLayer, layer)),
  });
  const res = await client.putManifest(name, tag, manifest, MEDIA.ociManifest);
  if (res.status === 201) return { name, tag, digest: res.header('docker-content-digest'), blobs: [config, ...layers] };
  if (res.status === 400 && res.json<{ errors: Array<{ code: string }> }>().errors[0]?.code === 'MANIFEST_BLOB_UNKNOWN') return undefined;
  throw new Error(`unexpected answer to the manifest PUT: ${res.status} ${res.body.toString()}`);
}

test('pushes acknowledged while gc runs every second with no grace period all pull whole; untagged content is gone', async (t) => {
  const reports: GcReport[] = [];
  const unsubscribe = onGcRun((report) => reports.push(report));
  t.teardown(unsubscribe);
  const storage = await startStorage({
    config: {
      storage: {
        delete: { enabled: true },
        maintenance: {
          gc: { intervalMs: 1000, gracePeriodMs: 0 },
          retention: [{ repositories: '**', deleteuntaggedafterMs: 0 }],
        },
      },
    },
  });
  t.teardown(() => storage.close());
  const client = new RegistryClient(storage.url);

  // Before: untagged images and orphan layers, and a layer every pusher will find present
  // (HEAD 200) while the collection is about to delete it: the race a manifest PUT must win or lose cleanly.
  const untagged: PushedImage[] = [];
  for (let i = 0; i < 3; i++) untagged.push(await pushImage(client, `before/app${i}`, { layerSizes: [2000, 300] }));
  const orphans = await Promise.all([1, 2, 3].map(() => client.pushBlob('before/orphans', uniqueBlob(4000))));
  const shared = uniqueBlob(5000);
  await client.pushBlob('before/orphans', shared);

  const acknowledged: Acknowledged[] = [];
  let refused = 0;
  const deadline = Date.now() + PUSH_FOR_MS;
  await Promise.all(
    Array.from({ length: PUSHERS }, async (_, pusher) => {
      for (let n = 0; Date.now() < deadline; n++) {
        const name = `push/p${pusher}`;
        const layers = [uniqueBlob(1000 + n), shared];
        // Mount the shared layer from where it was first pushed, as docker does across repositories.
        await client.send(`/v2/${name}/blobs/uploads/?mount=${sha256(shared)}&from=before/orphans`, { method: 'POST' });
        for (let attempt = 0; ; attempt++) {
          const pushed = await dockerLikePush(client, name, `t${n}`, layers, attempt === 0 && n % 3 === 1 ? 2500 : 0);
          if (pushed) {
            acknowledged.push(pushed);
            break;
          }
          refused++;
          if (attempt > 20) throw new Error('the registry kept refusing a push');
        }
      }
    }),
  );
  // One more whole collection after the last push.
  const runsAtEnd = reports.length;
  await waitFor(() => reports.length >= runsAtEnd + 2, 60_000);

  t.true(reports.length >= 4, `gc ran ${reports.length} times during the pushes`);
  t.true(acknowledged.length >= PUSHERS, `${acknowledged.length} images acknowledged (${refused} manifest PUTs refused and retried)`);
  t.log(`${reports.length} collections, ${acknowledged.length} pushes acknowledged, ${refused} refused and retried`);

  for (const image of acknowledged) {
    const manifest = await client.getManifest(image.name, image.tag);
    t.is(manifest.status, 200, `${image.name}:${image.tag}`);
    t.is(manifest.header('docker-content-digest'), image.digest);
    for (const blob of image.blobs) {
      const got = await client.getBlob(image.name, sha256(blob));
      t.is(got.status, 200, `${image.name}:${image.tag} blob ${sha256(blob)}`);
      t.true(got.body.equals(blob));
    }
  }
  for (const image of untagged) {
    t.is((await client.getManifest(image.name, image.digest)).status, 404);
    for (const digest of [image.digest, sha256(image.config), ...image.layers.map(sha256)]) {
      t.false(await exists(blobFile(storage.root, digest)), `${digest} of an untagged image is gone from disk`);
    }
  }
  for (const digest of orphans) t.false(await exists(blobFile(storage.root, digest)), 'orphan layers are gone');
  t.false((await client.catalog()).some((name) => name.startsWith('before/app')), 'emptied repositories left the catalog');
  const deleted = reports.reduce((sum, r) => sum + r.blobsDeleted.length, 0);
  t.true(deleted >= untagged.length * 3 + orphans.length);
});

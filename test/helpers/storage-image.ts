// Whole images over the API, registry-independent: push an OCI image layout (made by the e2e image
// builder) to any registry the way clients do (blobs, then child manifests, then the tagged
// manifest), and take a snapshot of a repository (every tag, manifest and blob reachable from its
// tags, checked against its digest) to compare two registries or two moments.
import { readOciLayout } from './oci-image.js';
import { MANIFEST_ACCEPT, sha256, type RegistryClient } from './storage-http.js';

interface ManifestJson {
  mediaType?: string;
  config?: { digest: string };
  layers?: Array<{ digest: string; urls?: string[] }>;
  manifests?: Array<{ digest: string }>;
  subject?: { digest: string };
}

/** Pushes every tag of an OCI layout directory into `name`; returns the tags pushed. */
export async function pushLayout(client: RegistryClient, name: string, dir: string): Promise<string[]> {
  const layout = await readOciLayout(dir);
  const pushed = new Set<string>();
  const pushManifest = async (digest: string, mediaType: string, reference: string): Promise<void> => {
    const body = await layout.blob(digest);
    if (!pushed.has(digest)) {
      const json = JSON.parse(body.toString('utf8')) as ManifestJson;
      for (const child of json.manifests ?? []) {
        const childBody = JSON.parse((await layout.blob(child.digest)).toString('utf8')) as ManifestJson;
        await pushManifest(child.digest, childBody.mediaType ?? mediaType, child.digest);
      }
      const blobs = [json.config?.digest, ...(json.layers ?? []).map((layer) => layer.digest)].filter((d): d is string => !!d);
      for (const blob of blobs) await client.pushBlobStreamed(name, await layout.blob(blob));
      pushed.add(digest);
    }
    await client.pushManifest(name, reference, body, mediaType);
  };
  const tags: string[] = [];
  for (const ref of await layout.refs()) {
    const tag = ref.annotations?.['org.opencontainers.image.ref.name'];
    if (!tag) continue;
    await pushManifest(ref.digest, ref.mediaType, tag);
    tags.push(tag);
  }
  return tags;
}

export interface RepositorySnapshot {
  tags: Record<string, string>;
  /** By digest: the media type served and the body's sha256 (checked equal to the digest). */
  manifests: Record<string, { mediaType: string; size: number }>;
  /** By digest: size (content checked against the digest). */
  blobs: Record<string, number>;
}

/**
 * Reads everything reachable from the repository's tags (plus `extraManifests`), checking each
 * body against its digest. Throws on any missing piece.
 */
export async function snapshotRepository(client: RegistryClient, name: string, extraManifests: string[] = []): Promise<RepositorySnapshot> {
  const snapshot: RepositorySnapshot = { tags: {}, manifests: {}, blobs: {} };
  const readManifest = async (reference: string): Promise<string> => {
    const res = await client.send(`/v2/${name}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status !== 200) throw new Error(`GET ${name} manifest ${reference}: ${res.status} ${res.text.slice(0, 300)}`);
    const digest = sha256(res.body);
    if (res.header('docker-content-digest') !== digest) throw new Error(`${name}:${reference} served with a wrong digest header`);
    if (reference.includes(':') && reference !== digest) throw new Error(`${name}@${reference} has content ${digest}`);
    if (!snapshot.manifests[digest]) {
      snapshot.manifests[digest] = { mediaType: res.header('content-type'), size: res.body.length };
      const json = JSON.parse(res.text) as ManifestJson;
      for (const child of json.manifests ?? []) await readManifest(child.digest);
      const blobs = [json.config?.digest, ...(json.layers ?? []).filter((l) => !l.urls).map((l) => l.digest)];
      for (const blob of blobs.filter((d): d is string => !!d)) {
        if (snapshot.blobs[blob] !== undefined) continue;
        const data = await client.getBlob(name, blob);
        if (data.status !== 200) throw new Error(`GET ${name} blob ${blob}: ${data.status}`);
        if (sha256(data.body) !== blob) throw new Error(`${name} blob ${blob} has content ${sha256(data.body)}`);
        snapshot.blobs[blob] = data.body.length;
      }
    }
    return digest;
  };
  for (const tag of (await client.tags(name)).sort()) snapshot.tags[tag] = await readManifest(tag);
  for (const digest of extraManifests) await readManifest(digest);
  return snapshot;
}

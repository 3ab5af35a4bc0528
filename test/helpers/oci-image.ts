// A small, deterministic OCI image builder for the tests (no network, no docker build): the
// same spec always gives the same digests. It writes OCI image layouts (the `oci:` transport of
// skopeo/podman, `ctr images import` once archived), single-platform images or an image index
// with several platforms, and optionally a big layer of pseudo-random bytes for upload tests.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256 } from './digest.js';
import { readTarFiles, writeTar, type TarEntry } from './tar.js';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageSpec {
  /** Files of the first layer, by path (e.g. `hello.txt`, `etc/motd`). */
  files: Record<string, string | Buffer>;
  /** Default linux/amd64. */
  platform?: Platform;
  /** Adds a second layer holding `big.bin`: this many MiB of pseudo-random bytes. */
  bigLayerMiB?: number;
  /** Seeds the big layer's bytes (default: the spec's files), so it too is reproducible. */
  seed?: string;
  /** The config's `created` (default the epoch, as reproducible builds record it). */
  created?: string;
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Every file of the image, as a container would see it. */
  files: Map<string, Buffer>;
}

export { sha256 };

/** Pseudo-random bytes from a seed: AES-256-CTR over zeros (fast, and the same every time). */
export function seededBytes(seed: string, length: number): Buffer {
  return Buffer.concat([...seededChunks(seed, length, Math.max(length, 1))]);
}

/** The bytes of seededBytes, chunk by chunk: blobs too big to hold in memory, streamed. */
export function* seededChunks(seed: string, length: number, chunkSize = 1 << 20): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(chunkSize, Math.max(length, 1)));
  for (let done = 0; done < length; ) {
    const size = Math.min(zeros.length, length - done);
    yield cipher.update(zeros.subarray(0, size));
    done += size;
  }
}

/** Writes blobs into an OCI image layout directory; `finish` writes index.json with the tags. */
export class OciLayoutWriter {
  private readonly refs: Descriptor[] = [];

  constructor(readonly dir: string) {}

  async addBlob(content: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = sha256(content);
    const blobDir = join(this.dir, 'blobs', 'sha256');
    await mkdir(blobDir, { recursive: true });
    await writeFile(join(blobDir, digest.slice('sha256:'.length)), content);
    return { mediaType, digest, size: content.length };
  }

  async addImage(spec: ImageSpec): Promise<BuiltImage> {
    const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
    const layerEntries = specLayers(spec);
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const entries of layerEntries) {
      const tar = writeTar(entries);
      diffIds.push(sha256(tar));
      // Big layers are random anyway: fast compression saves seconds and changes nothing.
      const gz = gzipSync(tar, { level: tar.length > 8 * 1024 * 1024 ? 1 : 6 });
      layers.push(await this.addBlob(gz, MEDIA_TYPES.layer));
    }
    const created = spec.created ?? '1970-01-01T00:00:00Z';
    const config = await this.addBlob(
      json({
        created,
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: layers.map(() => ({ created, created_by: 'oci-registry-ts e2e image builder' })),
      }),
      MEDIA_TYPES.config,
    );
    const manifest = await this.addBlob(
      json({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers }),
      MEDIA_TYPES.manifest,
    );
    return { manifest: { ...manifest, platform }, config, layers, files: regularFiles(layerEntries.flat()) };
  }

  /** An image index over platform images (each image's manifest descriptor carries its platform). */
  async addIndex(images: readonly BuiltImage[]): Promise<Descriptor> {
    return this.addBlob(
      json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: images.map((image) => image.manifest) }),
      MEDIA_TYPES.index,
    );
  }

  tag(descriptor: Descriptor, tag: string): void {
    const { platform: _platform, ...plain } = descriptor;
    this.refs.push({ ...plain, annotations: { 'org.opencontainers.image.ref.name': tag } });
  }

  async finish(): Promise<void> {
    await writeFile(join(this.dir, 'oci-layout'), json({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(this.dir, 'index.json'), json({ schemaVersion: 2, manifests: this.refs }));
  }
}

/** One layout holding one single-platform image under `tag`. */
export async function buildOciLayout(dir: string, tag: string, spec: ImageSpec): Promise<BuiltImage> {
  const layout = new OciLayoutWriter(dir);
  const image = await layout.addImage(spec);
  layout.tag(image.manifest, tag);
  await layout.finish();
  return image;
}

/** The layout as an OCI archive (a tar of the directory), which `ctr images import` reads. */
export async function ociArchive(dir: string): Promise<Buffer> {
  const layout = await readOciLayout(dir);
  const entries: TarEntry[] = [
    { path: 'oci-layout', content: await readFile(join(dir, 'oci-layout')) },
    { path: 'index.json', content: await readFile(join(dir, 'index.json')) },
    { path: 'blobs' },
    { path: 'blobs/sha256' },
  ];
  for (const digest of await layout.blobDigests()) {
    entries.push({ path: `blobs/sha256/${digest.slice('sha256:'.length)}`, content: await layout.blob(digest) });
  }
  return writeTar(entries);
}

export interface OciLayoutReader {
  readonly dir: string;
  /** Descriptors of index.json (top-level tags). */
  refs(): Promise<Descriptor[]>;
  /** The descriptor tagged `tag` in index.json. */
  ref(tag: string): Promise<Descriptor>;
  /** A blob, after checking that its content matches its digest. */
  blob(digest: string): Promise<Buffer>;
  blobJson<T>(digest: string): Promise<T>;
  blobDigests(): Promise<string[]>;
}

export async function readOciLayout(dir: string): Promise<OciLayoutReader> {
  const readIndex = async (): Promise<{ manifests: Descriptor[] }> => JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  const blob = async (digest: string): Promise<Buffer> => {
    const content = await readFile(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
    const actual = sha256(content);
    if (actual !== digest) throw new Error(`blob ${digest} in ${dir} has content ${actual}`);
    return content;
  };
  return {
    dir,
    refs: async () => (await readIndex()).manifests,
    ref: async (tag) => {
      const found = (await readIndex()).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
      if (!found) throw new Error(`no tag ${tag} in ${dir}/index.json`);
      return found;
    },
    blob,
    blobJson: async <T>(digest: string) => JSON.parse((await blob(digest)).toString('utf8')) as T,
    blobDigests: async () => (await readdir(join(dir, 'blobs', 'sha256'))).sort().map((hex) => `sha256:${hex}`),
  };
}

export interface ImageManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** The files of an image stored in a layout (layers applied in order; gzip or plain tar). */
export async function imageFilesFromLayout(layout: OciLayoutReader, manifestDigest: string): Promise<Map<string, Buffer>> {
  const manifest = await layout.blobJson<ImageManifest>(manifestDigest);
  const files = new Map<string, Buffer>();
  for (const layer of manifest.layers) {
    for (const [path, content] of layerFiles(await layout.blob(layer.digest))) files.set(path, content);
  }
  return files;
}

/** Files of one layer blob, compressed with gzip or not. */
export function layerFiles(blob: Buffer): Map<string, Buffer> {
  const isGzip = blob[0] === 0x1f && blob[1] === 0x8b;
  return readTarFiles(isGzip ? gunzipSync(blob) : blob);
}

/** All files of a spec in one uncompressed tar (what `docker import` takes), without a layout. */
export function rootfsTar(spec: ImageSpec): { tar: Buffer; files: Map<string, Buffer> } {
  const all = specLayers(spec).flat();
  return { tar: writeTar(all), files: regularFiles(all) };
}

function regularFiles(entries: readonly TarEntry[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of entries) if (entry.content) files.set(entry.path, entry.content);
  return files;
}

function specLayers(spec: ImageSpec): TarEntry[][] {
  const layers: TarEntry[][] = [fileEntries(spec.files)];
  if (spec.bigLayerMiB) {
    const seed = spec.seed ?? JSON.stringify(Object.entries(spec.files).map(([k, v]) => [k, v.toString()]));
    layers.push([{ path: 'big.bin', content: seededBytes(seed, spec.bigLayerMiB * 1024 * 1024) }]);
  }
  return layers;
}

function fileEntries(files: Record<string, string | Buffer>): TarEntry[] {
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  for (const [path, content] of Object.entries(files)) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    entries.push({ path, content: Buffer.isBuffer(content) ? content : Buffer.from(content) });
  }
  for (const dir of dirs) entries.push({ path: dir });
  return entries;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

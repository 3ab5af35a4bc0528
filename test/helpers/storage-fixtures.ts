// Small images made in memory for the storage API tests: blobs, descriptors, OCI and Docker
// manifests and indexes, artifacts with a subject. Bytes are pushed through the real API.
import { randomBytes } from 'node:crypto';
import { sha256, type RegistryClient } from './storage-http.js';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
}

export function descriptorOf(mediaType: string, content: Buffer, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: sha256(content), size: content.length, ...extra };
}

export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** `size` bytes nobody else has. */
export function uniqueBlob(size: number): Buffer {
  return randomBytes(size);
}

export interface PushedImage {
  name: string;
  digest: string;
  manifest: Buffer;
  mediaType: string;
  config: Buffer;
  layers: Buffer[];
  /** The manifest's descriptor, for an index or a subject. */
  descriptor: Descriptor;
}

export interface ImageOptions {
  /** 'oci' (default) or 'docker' schema 2. */
  flavor?: 'oci' | 'docker';
  layerSizes?: number[];
  tag?: string;
  platform?: { os: string; architecture: string };
}

/** Pushes the blobs of a new image, then its manifest (by tag, or by digest when no tag). */
export async function pushImage(client: RegistryClient, name: string, options: ImageOptions = {}): Promise<PushedImage> {
  const docker = options.flavor === 'docker';
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = (options.layerSizes ?? [1024]).map((size) => uniqueBlob(size));
  const config = jsonBytes({ architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') });
  // In parallel, as clients push layers.
  await Promise.all([config, ...layers].map((blob) => client.pushBlob(name, blob)));
  const mediaType = docker ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType,
    config: descriptorOf(docker ? MEDIA.dockerConfig : MEDIA.ociConfig, config),
    layers: layers.map((layer) => descriptorOf(docker ? MEDIA.dockerLayer : MEDIA.ociLayer, layer)),
  });
  const digest = await client.pushManifest(name, options.tag ?? sha256(manifest), manifest, mediaType);
  return { name, digest, manifest, mediaType, config, layers, descriptor: descriptorOf(mediaType, manifest, { platform }) };
}

/** An index (OCI) or manifest list (Docker) over already pushed images. */
export function indexOf(images: PushedImage[], flavor: 'oci' | 'docker' = 'oci'): { body: Buffer; mediaType: string } {
  const mediaType = flavor === 'docker' ? MEDIA.dockerList : MEDIA.ociIndex;
  return { mediaType, body: jsonBytes({ schemaVersion: 2, mediaType, manifests: images.map((image) => image.descriptor) }) };
}

/** The OCI empty descriptor's content, `{}`. */
export const EMPTY_CONFIG = Buffer.from('{}');

/** An artifact manifest (empty config, one layer) whose subject is `subject`. */
export function artifactManifest(subject: Descriptor | undefined, artifactType: string, layer: Buffer, annotations?: Record<string, string>): Buffer {
  return jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType,
    config: descriptorOf(MEDIA.ociEmpty, EMPTY_CONFIG),
    layers: [descriptorOf('application/octet-stream', layer)],
    ...(subject ? { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } } : {}),
    ...(annotations ? { annotations } : {}),
  });
}

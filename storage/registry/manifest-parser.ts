// Reads what a client PUTs as a manifest: well-formed JSON of a known media type, with valid
// descriptors. Returns what the registry must check and index; the bytes are stored unchanged.
import { parseDigest, type ParsedDigest } from '../../common/digest.js';
import { RegistryError } from '../../common/errors.js';
import {
  DOCKER_SCHEMA1,
  FOREIGN_LAYERS,
  IMAGE_MANIFESTS,
  INDEX_MANIFESTS,
  OCI_INDEX,
  OCI_MANIFEST,
  isKnownManifestType,
} from './media-types.js';

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must be linked into the repository (config, layers). */
  blobs: ParsedDigest[];
  /** Child manifests that must exist in the repository (index entries). */
  manifests: ParsedDigest[];
  subject?: ParsedDigest;
  /** The artifact type a referrers listing reports for this manifest. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, detail);
}

/** The media type a stored manifest is served with (its `mediaType` field, else inferred). */
export function mediaTypeOf(body: Buffer, fallback?: string): string {
  try {
    const json = JSON.parse(body.toString('utf8')) as Json;
    return resolveMediaType(json, fallback);
  } catch {
    return fallback ?? OCI_MANIFEST;
  }
}

function resolveMediaType(json: Json, contentType?: string): string {
  if (typeof json.mediaType === 'string' && json.mediaType !== '') return json.mediaType;
  if (contentType && isKnownManifestType(contentType)) return contentType;
  // OCI makes mediaType optional: infer it from the shape.
  if (Array.isArray(json.manifests)) return OCI_INDEX;
  return OCI_MANIFEST;
}

export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type && DOCKER_SCHEMA1.includes(type)) {
    throw invalid('Docker schema 1 manifests are not supported: push with a current client (schema 2 or OCI)');
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isObject(json)) throw invalid('manifest must be a JSON object');
  if (json.schemaVersion === 1) {
    throw invalid('Docker schema 1 manifests are not supported: push with a current client (schema 2 or OCI)');
  }
  if (json.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  if (json.mediaType !== undefined && typeof json.mediaType !== 'string') throw invalid('mediaType must be a string');
  const mediaType = resolveMediaType(json, type);
  if (typeof json.mediaType === 'string' && type && isKnownManifestType(type) && json.mediaType !== type) {
    throw invalid(`mediaType ${json.mediaType} does not match Content-Type ${type}`);
  }
  if (!isKnownManifestType(mediaType)) throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType)}`);

  const parsed: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  if (IMAGE_MANIFESTS.has(mediaType)) {
    const config = descriptor(json.config, 'config');
    parsed.blobs.push(parseDigest(config.digest));
    if (!Array.isArray(json.layers)) throw invalid('layers must be an array');
    json.layers.forEach((layer, i) => {
      const d = descriptor(layer, `layers[${i}]`);
      const foreign = FOREIGN_LAYERS.has(d.mediaType) && Array.isArray((layer as Json).urls);
      if (!foreign) parsed.blobs.push(parseDigest(d.digest));
    });
    parsed.artifactType = typeof json.artifactType === 'string' ? json.artifactType : config.mediaType;
  } else if (INDEX_MANIFESTS.has(mediaType)) {
    if (!Array.isArray(json.manifests)) throw invalid('manifests must be an array');
    json.manifests.forEach((entry, i) => {
      parsed.manifests.push(parseDigest(descriptor(entry, `manifests[${i}]`).digest));
    });
    if (typeof json.artifactType === 'string') parsed.artifactType = json.artifactType;
  }
  if (json.subject !== undefined) parsed.subject = parseDigest(descriptor(json.subject, 'subject').digest);
  if (isObject(json.annotations)) parsed.annotations = json.annotations as Record<string, string>;
  return parsed;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}.mediaType must be a string`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest must be a string`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  try {
    parseDigest(digest);
  } catch {
    throw invalid(`${where}.digest ${JSON.stringify(digest)} is not a valid digest`);
  }
  return value as unknown as Descriptor;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

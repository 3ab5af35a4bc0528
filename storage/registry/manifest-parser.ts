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

export { MAX_MANIFEST_BYTES } from '../../common/manifest-limits.js';
/**
 * Descriptors (config, layers, index entries) one manifest may list. Real images have at most a
 * few hundred; every one costs file lookups, so a 4 MiB list of tens of thousands is refused.
 */
export const MAX_REFERENCES = 10_000;
/** Nesting of arrays and objects; a manifest needs about 5. Deeper JSON is refused unparsed. */
export const MAX_JSON_DEPTH = 64;

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
  checkJsonDepth(body, MAX_JSON_DEPTH);
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

  const listed = (Array.isArray(json.layers) ? json.layers.length : 0) + (Array.isArray(json.manifests) ? json.manifests.length : 0);
  if (listed > MAX_REFERENCES) {
    throw invalid(`manifest lists ${listed} descriptors; at most ${MAX_REFERENCES} are accepted`, { limit: MAX_REFERENCES });
  }

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

/**
 * Refuses JSON nested deeper than `limit` with one pass over the bytes, before JSON.parse: a
 * few megabytes of `[` would otherwise block the event loop for seconds and leave the heap huge.
 */
export function checkJsonDepth(body: Uint8Array, limit: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) throw invalid(`manifest JSON is nested deeper than ${limit} levels`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
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

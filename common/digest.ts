// Digest grammar and helpers shared by both processes (OCI image-spec descriptor digests).
import { RegistryError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** `algorithm:hex`, as the client spelled it. */
  digest: string;
}

/** Parses and validates a digest; throws DIGEST_INVALID for anything but well-formed sha256/sha512. */
export function parseDigest(value: string): ParsedDigest {
  const match = DIGEST_RE.exec(value);
  if (!match) throw new RegistryError('DIGEST_INVALID', 'invalid digest format', { digest: value });
  const algorithm = match[1] as DigestAlgorithm;
  const hex = match[2]!;
  const expected = HEX_LENGTH[algorithm];
  if (expected === undefined) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${JSON.stringify(match[1])}`, { digest: value });
  }
  if (hex.length !== expected || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${algorithm} digest`, { digest: value });
  }
  return { algorithm, hex, digest: value };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

// Blobs: content-addressed data shared by all repositories, visible in a repository only
// through its `_layers` link.
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../../common/errors.js';
import type { ParsedDigest } from '../../common/digest.js';
import { isPathNotFound, type StorageDriver } from '../driver/driver.js';
import { deleteIfPresent, linkExists, writeLink } from './links.js';
import { paths } from './paths.js';

/** A handed-off URL is fetched at once; a minute leaves room for clocks a little apart. */
const HANDOFF_URL_SECONDS = 60;

export interface BlobRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export class BlobStore {
  constructor(private readonly driver: StorageDriver) {}

  /** Size of a blob linked into `name`; BLOB_UNKNOWN otherwise. */
  async stat(name: string, digest: ParsedDigest): Promise<number> {
    const size = (await linkExists(this.driver, paths.layerLink(name, digest))) ? await this.size(digest) : undefined;
    if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.digest });
    return size;
  }

  /** Size of the blob's data anywhere in the registry, or undefined. */
  async size(digest: ParsedDigest): Promise<number | undefined> {
    try {
      return (await this.driver.stat(paths.blobData(digest), { file: true })).size;
    } catch (err) {
      if (isPathNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Writes the blob (or a range of it) to a response, through the driver's fast path if it has one. */
  async send(digest: ParsedDigest, dest: Writable, range: BlobRange): Promise<void> {
    const length = range.end - range.start + 1;
    try {
      if (this.driver.copyTo) {
        await this.driver.copyTo(paths.blobData(digest), dest, range.start, length);
        return;
      }
      const reader = await this.driver.reader(paths.blobData(digest), range.start, length);
      await pipeline(reader, dest, { end: false });
    } catch (err) {
      if (isPathNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.digest });
      throw err;
    }
  }

  /** The directory the driver keeps its files under, when it keeps them on this machine (file handoff). */
  localRoot(): string | undefined {
    return this.driver.localPath?.('/');
  }

  /** The blob file's absolute path, when the driver keeps files on this machine (file handoff). */
  localFile(digest: ParsedDigest): string | undefined {
    return this.driver.localPath?.(paths.blobData(digest));
  }

  /**
   * A URL the gateway fetches the blob from itself (URL handoff), when the driver can sign one:
   * short-lived, because it only has to last until the gateway asks.
   */
  async handoffURL(digest: ParsedDigest): Promise<string | undefined> {
    return await this.driver.redirectURL?.(paths.blobData(digest), 'GET', HANDOFF_URL_SECONDS);
  }

  /** A URL the client may fetch the blob from directly (presigned), when the driver has one. */
  async redirectURL(digest: ParsedDigest): Promise<string | undefined> {
    return await this.driver.redirectURL?.(paths.blobData(digest), 'GET');
  }

  async read(digest: ParsedDigest): Promise<Buffer | undefined> {
    try {
      return await this.driver.getContent(paths.blobData(digest));
    } catch (err) {
      if (isPathNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Stores a small blob (a manifest) by digest; a blob already present is left as it is. */
  async putSmall(digest: ParsedDigest, content: Buffer): Promise<void> {
    if ((await this.size(digest)) === content.length) return;
    await this.driver.putContent(paths.blobData(digest), content);
  }

  async isLinked(name: string, digest: ParsedDigest): Promise<boolean> {
    return await linkExists(this.driver, paths.layerLink(name, digest));
  }

  async link(name: string, digest: ParsedDigest): Promise<void> {
    await writeLink(this.driver, paths.layerLink(name, digest), digest);
  }

  /** Removes the blob from the repository (the data stays until garbage collection). */
  async unlink(name: string, digest: ParsedDigest): Promise<boolean> {
    return await deleteIfPresent(this.driver, paths.layerLinkDir(name, digest));
  }
}

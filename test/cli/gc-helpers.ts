// Small additions to the storage test client for the gc test.
import { randomBytes } from 'node:crypto';
import { RegistryClient, sha256 } from '../helpers/storage-http.js';

export { RegistryClient, sha256 };

/** Pushes a random blob that no manifest will reference; returns its digest. */
export async function uniqueBlobPush(client: RegistryClient, name: string, size: number): Promise<string> {
  return await client.pushBlob(name, randomBytes(size));
}

// The referrers index (OCI Distribution v1.1): for each subject digest, one small file per
// manifest that names it as `subject`, holding that manifest's descriptor. registry:2 has no
// such index and ignores the `_referrers` folder.
import { parseDigest, type ParsedDigest } from '../../common/digest.js';
import type { StorageDriver } from '../driver/driver.js';
import { deleteIfPresent, listDigests } from './links.js';
import type { Descriptor } from './manifest-parser.js';
import { paths } from './paths.js';

export class ReferrerStore {
  constructor(private readonly driver: StorageDriver) {}

  async add(name: string, subject: ParsedDigest, descriptor: Descriptor): Promise<void> {
    const path = paths.referrer(name, subject, parseDigest(descriptor.digest));
    await this.driver.putContent(path, Buffer.from(JSON.stringify(descriptor)));
  }

  async remove(name: string, subject: ParsedDigest, digest: ParsedDigest): Promise<void> {
    await deleteIfPresent(this.driver, paths.referrer(name, subject, digest));
  }

  async list(name: string, subject: ParsedDigest): Promise<Descriptor[]> {
    const descriptors: Descriptor[] = [];
    for (const digest of await listDigests(this.driver, paths.referrersDir(name, subject))) {
      try {
        const content = await this.driver.getContent(paths.referrer(name, subject, digest));
        descriptors.push(JSON.parse(content.toString('utf8')) as Descriptor);
      } catch {
        // removed concurrently, or half-written by a crashed older process: skip it
      }
    }
    return descriptors.sort((a, b) => a.digest.localeCompare(b.digest));
  }
}

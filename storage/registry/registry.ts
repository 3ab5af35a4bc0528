// The registry logic over one driver: the stores, wired together once.
import type { StorageDriver } from '../driver/driver.js';
import { BlobStore } from './blob-store.js';
import { GcGate } from './gc-gate.js';
import { listNames } from './links.js';
import { ManifestStore } from './manifest-store.js';
import { paths } from './paths.js';
import { ReferrerStore } from './referrer-store.js';
import { RepositorySummaries } from './repository-summary.js';
import { listRepositories, listRepositoriesAfter } from './repository-list.js';
import { TagStore } from './tag-store.js';
import type { UploadLimits } from './upload-limits.js';
import { UploadStore } from './upload-store.js';

export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadStore;
  readonly tags: TagStore;
  readonly referrers: ReferrerStore;
  readonly manifests: ManifestStore;
  readonly summaries: RepositorySummaries;
  /** Keeps an online garbage collection from deleting what a write in progress uses. */
  readonly gate = new GcGate();

  constructor(
    readonly driver: StorageDriver,
    uploadLimits?: UploadLimits,
  ) {
    this.blobs = new BlobStore(driver);
    this.uploads = new UploadStore(driver, this.blobs, uploadLimits, this.gate);
    this.tags = new TagStore(driver);
    this.referrers = new ReferrerStore(driver);
    this.manifests = new ManifestStore(driver, this.blobs, this.tags, this.referrers, this.gate);
    this.summaries = new RepositorySummaries(driver, this.manifests, this.blobs, this.tags);
  }

  async repositories(): Promise<string[]> {
    return await listRepositories(this.driver);
  }

  /** At most `limit` repositories after `last`, in catalog order, reading no more than needed. */
  async repositoriesAfter(last: string | undefined, limit: number): Promise<string[]> {
    return await listRepositoriesAfter(this.driver, last, limit);
  }

  /**
   * A repository is a folder holding `_layers` or `_manifests`: the parent folder of nested names
   * (`a` for `a/b`), or a folder with only upload sessions, is none.
   */
  async repositoryExists(name: string): Promise<boolean> {
    const children = await listNames(this.driver, paths.repository(name));
    return children.includes('_layers') || children.includes('_manifests');
  }
}

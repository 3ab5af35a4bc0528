// What every storage handler receives besides Koa's context.
import type { Logger } from '../../common/logger.js';
import type { Registry } from '../registry/registry.js';

export interface StorageOptions {
  deleteEnabled: boolean;
  readOnly: boolean;
  relativeUrls: boolean;
  /** Blob GETs answer 307 to a presigned object-store URL (storage.redirect, s3 only). */
  redirect?: boolean;
  /** registry:2 `http.host`: external base URL for absolute Locations. */
  externalBaseUrl?: string;
  /** When set, every request must carry it in the internal token header. */
  internalToken?: string;
}

export interface StorageDeps {
  registry: Registry;
  options: StorageOptions;
  logger: Logger;
}

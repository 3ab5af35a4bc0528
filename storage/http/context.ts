// What every storage handler receives besides Koa's context.
import type { Logger } from '../../common/logger.js';
import type { Notifier } from '../notifications/notifier.js';
import type { ProxyCache } from '../proxy-cache/proxy-cache.js';
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
  /** Webhook notifications (registry:2 `notifications`), when endpoints are configured. */
  notifier?: Notifier;
  /** The pull-through cache (registry:2 `proxy`), when upstreams are configured. */
  proxy?: ProxyCache;
}

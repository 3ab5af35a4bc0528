// The storage API tests (blobs, uploads, manifests, listing, modes) once more, over the S3 driver
// on a real S3 engine (Ceph RGW started first by s3-backend): each test file's startStorage gets
// a fresh bucket instead of a directory. bad-input and concurrency are left out: with them, 74
// tests at once against one RGW on a loaded 2-core machine ran into the clients' timeouts.
import '../helpers/s3-backend.js';
import './api-blobs.test.js';
import './api-listing.test.js';
import './api-manifests.test.js';
import './api-uploads.test.js';
import './api-modes.test.js';

import test from 'ava';
import { startStorage, listTree } from '../helpers/storage-server.js';
import { RegistryClient } from '../helpers/storage-http.js';

test('these tests really run on S3: storage is configured with the s3 driver and writes to the bucket', async (t) => {
  const storage = await startStorage();
  try {
    t.is(storage.config.storage.driver, 's3');
    await new RegistryClient(storage.url).pushBlob('on/s3', Buffer.from('in the bucket'));
    const tree = await listTree(storage.root);
    t.true(tree.some((path) => path.startsWith('docker/registry/v2/blobs/sha256/')), tree.join('\n'));
  } finally {
    await storage.close();
  }
});

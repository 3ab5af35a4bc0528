// The bad-input and concurrency storage API tests once more, over the S3 driver on a real S3
// engine (Ceph RGW of this file's own, started by s3-backend), as api-on-s3.test.ts does for the
// others. Kept apart from api-on-s3: a file's tests run at once, and 74 of them against one RGW
// on a loaded 2-core machine ran into the clients' timeouts; these 14 get an RGW to themselves.
import '../helpers/s3-backend.js';
import './bad-input.test.js';
import './concurrency.test.js';

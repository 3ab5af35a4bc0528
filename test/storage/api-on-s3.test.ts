// The storage API tests (blobs, uploads, manifests, listing, modes, bad input, concurrency) once
// more, over the S3 driver on a real S3 engine (Ceph RGW started first by s3-backend): each test
// file's startStorage gets a fresh bucket instead of a directory.
import '../helpers/s3-backend.js';
import './api-blobs.test.js';
import './api-listing.test.js';
import './api-manifests.test.js';
import './api-uploads.test.js';
import './api-modes.test.js';
import './bad-input.test.js';
import './concurrency.test.js';

// Imported first by a test file: starts Ceph RGW before any other hook and makes startStorage
// serve buckets on it (test/storage/api-on-s3.test.ts). It is stopped when the worker process
// exits: the other files' after hooks (which drop their buckets) may run at the same time as any
// hook of ours, so no hook can be sure to be the last.
import test from 'ava';
import { startRgw, stopRgwSync, type Rgw } from './rgw.js';
import { useS3Backend } from './storage-server.js';

let rgw: Rgw | undefined;
test.before(async () => {
  rgw = await startRgw();
  useS3Backend(rgw);
  process.once('exit', () => stopRgwSync(rgw!));
});

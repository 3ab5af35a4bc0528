// Imported first by a test file: starts Ceph RGW when the file loads and makes every
// startStorage of that worker serve a fresh bucket on it (test/storage/api-on-s3.test.ts). ava
// may run the files' before hooks at the same time, so startStorage waits for RGW itself. RGW is
// stopped when the worker exits: other files' after hooks (which drop their buckets) may run at
// the same time as any hook of ours, so no hook can be sure to be the last.
import { startRgw, stopRgwSync } from './rgw.js';
import { useS3Backend } from './storage-server.js';

const rgw = startRgw();
rgw.catch(() => undefined); // reported by the first startStorage that waits for it
useS3Backend(rgw);
rgw.then((started) => process.once('exit', () => stopRgwSync(started)), () => undefined);

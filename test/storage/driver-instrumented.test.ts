// The shared driver suite over the instrumenting decorator (storage/driver/instrumented.ts)
// wrapping the filesystem driver: measuring a driver changes nothing it does, including its
// optional fast paths.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { instrumentDriver } from '../../storage/driver/instrumented.js';
import { PathNotFoundError } from '../../storage/driver/driver.js';
import { MemoryDriver } from '../../storage/driver/memory.js';
import { registerDriverSuite } from './driver-suite.js';

const ignore = { observe: () => undefined };

registerDriverSuite('instrumented filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'driver-instrumented-'));
  return { driver: instrumentDriver(new FilesystemDriver(dir), ignore), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

test('every operation is observed; a missing path is timed but is no error; capabilities pass through', async (t) => {
  const seen: Array<[string, string, boolean]> = [];
  const driver = instrumentDriver(new MemoryDriver(), { observe: (name, operation, _seconds, failed) => void seen.push([name, operation, failed]) });
  await driver.putContent('/a', Buffer.from('x'));
  await t.throwsAsync(driver.getContent('/missing'), { instanceOf: PathNotFoundError });
  const writer = await driver.writer('/b', false);
  writer.stream.end(Buffer.from('yz'));
  await new Promise((resolve) => writer.stream.once('finish', resolve));
  await writer.commit();
  await t.throwsAsync(driver.move('/a', 'not/absolute'));
  t.deepEqual(seen.slice(0, 4), [
    ['inmemory', 'putContent', false],
    ['inmemory', 'getContent', false],
    ['inmemory', 'writer', false],
    ['inmemory', 'writer.commit', false],
  ]);
  t.deepEqual(seen[4], ['inmemory', 'move', true]);
  t.is(driver.name, 'inmemory');
  t.is(typeof new FilesystemDriver('/tmp').localPath, 'function');
  t.is(typeof instrumentDriver(new FilesystemDriver('/tmp'), ignore).localPath, 'function');
  t.is(typeof instrumentDriver(new FilesystemDriver('/tmp'), ignore).copyTo, 'function');
});

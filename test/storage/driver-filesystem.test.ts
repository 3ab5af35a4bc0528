// The shared driver suite over the filesystem driver, in a fresh temporary directory per test,
// plus what only the filesystem can show: the files really are where registry:2 expects them.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { registerDriverSuite } from './driver-suite.js';

async function freshDriver() {
  const dir = await mkdtemp(join(tmpdir(), 'fs-driver-'));
  return { driver: new FilesystemDriver(dir), dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

registerDriverSuite('filesystem', freshDriver);

test('filesystem: paths map onto the root directory one to one, without temporary files left', async (t) => {
  const { driver, dir, cleanup } = await freshDriver();
  try {
    await driver.putContent('/docker/registry/v2/repositories/a/_layers/sha256/ab/link', Buffer.from('sha256:ab'));
    t.is(await readFile(join(dir, 'docker/registry/v2/repositories/a/_layers/sha256/ab/link'), 'utf8'), 'sha256:ab');
    t.deepEqual(await readdir(join(dir, 'docker/registry/v2/repositories/a/_layers/sha256/ab')), ['link']);
  } finally {
    await cleanup();
  }
});

test('filesystem: nothing is written outside the root directory', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'fs-driver-parent-'));
  try {
    const driver = new FilesystemDriver(join(parent, 'root'));
    await t.throwsAsync(driver.putContent('/../escaped', Buffer.from('x')));
    await t.throwsAsync(driver.move('/../escaped', '/x'));
    await t.throwsAsync(driver.writer('/a/../../escaped', false));
    t.deepEqual(await readdir(parent), [], 'not even the root was created by refused calls');
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

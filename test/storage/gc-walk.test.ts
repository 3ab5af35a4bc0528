// The walk the collection (and the upload purger) goes through every repository with: in catalog
// order, a few folders listed and a few visits running at a time whatever the number of
// repositories (issue 10: the mark of 10,000 repositories stays flat in memory), and a visit
// that fails stops it.
import test from 'ava';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { compareNames, forEachRepositoryFolder, listRepositories } from '../../storage/registry/repository-list.js';

/** Counts the listings running at once. */
class CountingDriver extends FilesystemDriver {
  listing = 0;
  maxListing = 0;
  lists = 0;

  override async list(path: string): Promise<string[]> {
    this.lists++;
    this.listing++;
    this.maxListing = Math.max(this.maxListing, this.listing);
    try {
      return await super.list(path);
    } finally {
      this.listing--;
    }
  }
}

const NESTED = ['a', 'a/b', 'a/b/c', 'a-b', 'a.b', 'a_b', 'ab', 'a/b-c', 'b/x/y', 'z9', 'z/z'];
const MANY = Array.from({ length: 400 }, (_, i) => `team-${i % 4}/app-${String(i).padStart(3, '0')}`);
let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gc-walk-'));
  const repositories = join(dir, 'docker/registry/v2/repositories');
  for (const name of [...NESTED, ...MANY]) await mkdir(join(repositories, name, '_layers'), { recursive: true });
  await mkdir(join(repositories, 'only-manifests/_manifests'), { recursive: true });
});

test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('every repository folder is visited once, in catalog order, with its children', async (t) => {
  const driver = new CountingDriver(dir);
  const visited: Array<[string, string[]]> = [];
  await forEachRepositoryFolder(driver, (name, children) => void visited.push([name, children]));
  const names = visited.map(([name]) => name);
  t.deepEqual(names, [...names].sort(compareNames));
  t.is(new Set(names).size, names.length);
  const repositories = visited.filter(([, children]) => children.includes('_layers') || children.includes('_manifests')).map(([name]) => name);
  t.deepEqual([...repositories].sort(), [...NESTED, ...MANY, 'only-manifests'].sort());
  t.deepEqual(await listRepositories(driver), [...NESTED, ...MANY].sort(compareNames), 'the catalog (no only-manifests folder)');
});

test('a few listings and at most `concurrency` visits at once, however many repositories', async (t) => {
  const driver = new CountingDriver(dir);
  let running = 0;
  let maxRunning = 0;
  let visits = 0;
  await forEachRepositoryFolder(
    driver,
    async () => {
      visits++;
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running--;
    },
    3,
  );
  t.true(visits > MANY.length);
  t.is(maxRunning, 3);
  // Every folder is listed once; 100 sibling folders are never all listed at once (read ahead 8 per level).
  t.true(driver.maxListing <= 24, `${driver.maxListing} listings at once`);
});

test('a visit that fails stops the walk: no visit starts after it, those running finish, the error comes out', async (t) => {
  const driver = new CountingDriver(dir);
  const started: string[] = [];
  const finished: string[] = [];
  let failedAt = -1;
  const error = await t.throwsAsync(
    forEachRepositoryFolder(
      driver,
      async (name) => {
        started.push(name);
        if (name === 'team-1/app-041') {
          failedAt = started.length;
          throw new Error('cannot read team-1/app-041');
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
        finished.push(name);
      },
      4,
    ),
  );
  t.is(error?.message, 'cannot read team-1/app-041');
  t.true(failedAt > 0);
  // At most the visits already running when it failed (3 others) start after it.
  t.true(started.length <= failedAt + 3, `${started.length - failedAt} visits started after the failure`);
  t.true(started.length < NESTED.length + MANY.length, 'the walk stopped');
  t.is(finished.length, started.length - 1, 'every visit that started, but the failed one, finished');
});

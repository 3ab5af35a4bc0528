// `_catalog?n=` reads only what the page needs: the walk goes in catalog order and stops after n
// entries past `last`, instead of listing every repository for every page. Pages still come in
// registry:2's order (`/` before every other character), whatever `last` is.
import test from 'ava';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../storage/driver/filesystem.js';
import { FaultyDriver } from '../helpers/faulty-driver.js';
import { serveStorageApp, type StorageAppServer } from '../helpers/storage-app.js';
import { RegistryClient } from '../helpers/storage-http.js';

let dir: string;
let server: StorageAppServer;
let driver: FaultyDriver;
let client: RegistryClient;

// Names whose order differs between plain byte order and registry:2's, nested at several depths,
// folders that are only parents of repositories, and a folder with only uploads (not listed).
const TRICKY = ['a', 'a/b', 'a/b/c', 'a-b', 'a.b', 'a_b', 'ab', 'a/b-c', 'a/b/c/d', 'b/x/y', 'b-x', 'z9', 'z/z'];
const MANY = Array.from({ length: 300 }, (_, i) => `many/repo-${String(i).padStart(3, '0')}`);

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catalog-'));
  const repositories = join(dir, 'docker/registry/v2/repositories');
  // Laid out directly in registry:2's layout: a repository is a folder with `_layers`.
  for (const name of [...TRICKY, ...MANY]) await mkdir(join(repositories, name, '_layers'), { recursive: true });
  await mkdir(join(repositories, 'only-uploads/_uploads'), { recursive: true });
  driver = new FaultyDriver(new FilesystemDriver(dir));
  server = await serveStorageApp(driver);
  client = new RegistryClient(server.url);
});

test.after.always(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function page(query: string): Promise<{ repositories: string[]; link: string }> {
  const res = await client.send(`/v2/_catalog?${query}`);
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${res.text}`);
  return { repositories: res.json<{ repositories: string[] }>().repositories, link: res.header('link') };
}

test.serial('every page, from every last, is the matching slice of the whole catalog', async (t) => {
  const whole = await client.catalog();
  t.is(whole.length, TRICKY.length + MANY.length);
  t.deepEqual(whole.slice(0, 8), ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/b-c', 'a-b', 'a.b', 'a_b']);
  for (const n of [1, 2, 5]) {
    for (const [i, last] of [undefined, ...whole, 'a/b/', 'a0', 'b', 'many', 'zz'].entries()) {
      const start = last === undefined ? 0 : whole.findIndex((name) => name.replaceAll('/', '\0') > last.replaceAll('/', '\0'));
      const expected = start < 0 ? [] : whole.slice(start, start + n);
      const query = last === undefined ? `n=${n}` : `n=${n}&last=${encodeURIComponent(last)}`;
      const got = await page(query);
      t.deepEqual(got.repositories, expected, `${query} (#${i})`);
      const more = start >= 0 && start + n < whole.length;
      t.is(got.link !== '', more, `${query}: a Link header exactly when more follow`);
    }
  }
});

test.serial('a page of one lists a few folders, not every repository', async (t) => {
  const before = driver.lists;
  t.deepEqual((await page('n=1')).repositories, ['a']);
  const first = driver.lists - before;
  const middle = driver.lists;
  t.deepEqual((await page(`n=1&last=${encodeURIComponent('many/repo-150')}`)).repositories, ['many/repo-151']);
  const later = driver.lists - middle;
  t.true(first <= 5, `the first page listed ${first} folders`);
  t.true(later <= 10, `a page in the middle listed ${later} folders`);
});

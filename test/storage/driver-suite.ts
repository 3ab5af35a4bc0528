// The one driver test suite: every StorageDriver (filesystem, in-memory, S3 later) must pass it.
// It only uses the driver interface, so a new driver runs it by calling `registerDriverSuite`
// from its own test file with a factory that gives a fresh, empty driver each time.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  InvalidPathError,
  PathNotFoundError,
  walk,
  type FileInfo,
  type StorageDriver,
} from '../../storage/driver/driver.js';

export interface DriverUnderTest {
  driver: StorageDriver;
  /** Removes whatever the driver stored (temp directory, bucket prefix). */
  cleanup(): Promise<void>;
}

export type DriverFactory = () => Promise<DriverUnderTest>;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Opens a writer and streams `chunks` through it to the end, as an upload's PATCH does. */
async function writeThrough(driver: StorageDriver, path: string, append: boolean, ...chunks: Buffer[]) {
  const writer = await driver.writer(path, append);
  await pipeline(Readable.from(chunks), writer.stream);
  return writer;
}

/** Byte equality without ava's deep diff, which is very slow on megabytes. */
function sameBytes(t: ExecutionContext, actual: Buffer, expected: Buffer, message = 'same bytes'): void {
  t.true(actual.equals(expected), `${message} (${actual.length} vs ${expected.length} bytes)`);
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }
  get content(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// Paths no driver may accept: relative, `.`/`..`, empty components, trailing slash, NUL,
// separators and characters that registry logic never produces.
export const INVALID_PATHS = [
  '',
  'relative/path',
  'docker/registry',
  '/a/../b',
  '/..',
  '/../etc/passwd',
  '/a/..',
  '/a/./b',
  '/.',
  '/a//b',
  '//a',
  '/a/',
  '/a/b\u0000c',
  '/a/b c',
  '/a\\b',
  '/a/%2e%2e',
  '/a/\u00e9',
  '/a/b\nc',
];

export function registerDriverSuite(label: string, factory: DriverFactory): void {
  // Each test gets a fresh driver and always cleans up, even when an assertion fails.
  const withDriver =
    (body: (t: ExecutionContext, driver: StorageDriver) => Promise<void>) =>
    async (t: ExecutionContext): Promise<void> => {
      const { driver, cleanup } = await factory();
      try {
        await body(t, driver);
      } finally {
        await cleanup();
      }
    };

  test(`${label}: putContent then getContent returns the bytes`, withDriver(async (t, d) => {
    const content = randomBytes(3000);
    await d.putContent('/a/b/c/file', content);
    sameBytes(t, await d.getContent('/a/b/c/file'), content);
    await d.putContent('/empty', Buffer.alloc(0));
    sameBytes(t, await d.getContent('/empty'), Buffer.alloc(0));
  }));

  test(`${label}: putContent replaces a file whole`, withDriver(async (t, d) => {
    await d.putContent('/x/file', Buffer.from('a much longer first version'));
    await d.putContent('/x/file', Buffer.from('short'));
    t.is((await d.getContent('/x/file')).toString(), 'short');
    t.is((await d.stat('/x/file')).size, 5);
    t.deepEqual(await d.list('/x'), ['/x/file'], 'no temporary file is visible');
  }));

  test(`${label}: concurrent readers see the old or the new content, never a mix`, withDriver(async (t, d) => {
    const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024 + i * 777, 65 + i));
    await d.putContent('/race/file', versions[0]!);
    const seen = new Set<string>();
    const writes = (async () => {
      for (let round = 0; round < 3; round++) for (const version of versions) await d.putContent('/race/file', version);
    })();
    const reads = (async () => {
      for (let i = 0; i < 60; i++) {
        const content = await d.getContent('/race/file');
        const match = versions.findIndex((v) => v.equals(content));
        t.true(match >= 0, `read ${i} is one whole version (${content.length} bytes)`);
        seen.add(String(match));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all([writes, reads]);
    t.true(seen.size >= 1);
    t.deepEqual(await d.list('/race'), ['/race/file']);
  }));

  test(`${label}: getContent of a missing file is PathNotFoundError`, withDriver(async (t, d) => {
    await t.throwsAsync(d.getContent('/nothing/here'), { instanceOf: PathNotFoundError });
    await d.putContent('/dir/file', Buffer.from('x'));
    await t.throwsAsync(d.getContent('/dir/other'), { instanceOf: PathNotFoundError });
    await t.throwsAsync(d.getContent('/dir/file/below'), { instanceOf: PathNotFoundError }, 'a file as a parent');
  }));

  test(`${label}: reader honours offset and length`, withDriver(async (t, d) => {
    const content = randomBytes(5 * 1024 * 1024 + 123);
    const writer = await writeThrough(d, '/big/data', false, content);
    await writer.commit();
    sameBytes(t, await readAll(await d.reader('/big/data')), content, 'whole file');
    sameBytes(t, await readAll(await d.reader('/big/data', 1000)), content.subarray(1000), 'from an offset');
    sameBytes(t, await readAll(await d.reader('/big/data', 1000, 10)), content.subarray(1000, 1010), 'offset + length');
    sameBytes(t, await readAll(await d.reader('/big/data', 0, 1)), content.subarray(0, 1), 'first byte');
    const last = content.length - 1;
    sameBytes(t, await readAll(await d.reader('/big/data', last, 1)), content.subarray(last), 'last byte');
    sameBytes(
      t,
      await readAll(await d.reader('/big/data', 3 * 1024 * 1024 - 5, 2 * 1024 * 1024)),
      content.subarray(3 * 1024 * 1024 - 5, 5 * 1024 * 1024 - 5),
      'a range across internal chunk sizes',
    );
    t.is((await readAll(await d.reader('/big/data', content.length))).length, 0, 'offset at the end: nothing');
    await t.throwsAsync(d.reader('/big/missing'), { instanceOf: PathNotFoundError });
  }));

  test(`${label}: writer creates, appends across writers, reports its size`, withDriver(async (t, d) => {
    const first = randomBytes(100_000);
    const second = randomBytes(70_000);
    const w1 = await writeThrough(d, '/up/data', false, first.subarray(0, 50_000), first.subarray(50_000));
    t.is(w1.size, first.length);
    await w1.close();
    t.is((await d.stat('/up/data')).size, first.length, 'closed bytes stay');

    const w2 = await d.writer('/up/data', true);
    t.is(w2.size, first.length, 'an append writer starts at the current size');
    await pipeline(Readable.from([second]), w2.stream);
    t.is(w2.size, first.length + second.length);
    await w2.commit();
    sameBytes(t, await d.getContent('/up/data'), Buffer.concat([first, second]));

    const w3 = await d.writer('/up/data', false);
    t.is(w3.size, 0, 'a create writer truncates');
    await w3.close();
    t.is((await d.stat('/up/data')).size, 0);
  }));

  test(`${label}: an append writer on a missing file creates it`, withDriver(async (t, d) => {
    const writer = await writeThrough(d, '/new/dir/file', true, Buffer.from('hello'));
    t.is(writer.size, 5);
    await writer.commit();
    t.is((await d.getContent('/new/dir/file')).toString(), 'hello');
  }));

  test(`${label}: a writer closed or committed without bytes leaves an empty file`, withDriver(async (t, d) => {
    const created = await d.writer('/w/empty', false);
    await created.close();
    t.is((await d.stat('/w/empty')).size, 0);
    const committed = await d.writer('/w/empty2', false);
    await committed.commit();
    sameBytes(t, await d.getContent('/w/empty2'), Buffer.alloc(0));
  }));

  test(`${label}: cancel removes the file`, withDriver(async (t, d) => {
    const writer = await writeThrough(d, '/c/data', false, Buffer.from('partial'));
    await writer.cancel();
    await t.throwsAsync(d.stat('/c/data'), { instanceOf: PathNotFoundError });
    await t.throwsAsync(d.getContent('/c/data'), { instanceOf: PathNotFoundError });
  }));

  test(`${label}: stat of files and directories`, withDriver(async (t, d) => {
    const before = Date.now();
    await d.putContent('/s/dir/file', Buffer.from('12345'));
    const file = await d.stat('/s/dir/file');
    t.is(file.path, '/s/dir/file');
    t.is(file.size, 5);
    t.false(file.isDir);
    t.true(file.modTime instanceof Date);
    t.true(Math.abs(file.modTime.getTime() - before) < 60_000, 'modTime is about now');
    const dir = await d.stat('/s/dir');
    t.true(dir.isDir);
    t.is(dir.path, '/s/dir');
    t.true((await d.stat('/s')).isDir);
    await t.throwsAsync(d.stat('/s/none'), { instanceOf: PathNotFoundError });
  }));

  test(`${label}: list gives the direct children as full paths`, withDriver(async (t, d) => {
    await d.putContent('/l/a', Buffer.from('1'));
    await d.putContent('/l/b/deep/file', Buffer.from('2'));
    await d.putContent('/l/c/file', Buffer.from('3'));
    await d.putContent('/other', Buffer.from('4'));
    t.deepEqual((await d.list('/l')).sort(), ['/l/a', '/l/b', '/l/c']);
    t.deepEqual(await d.list('/l/b'), ['/l/b/deep']);
    t.deepEqual((await d.list('/')).sort(), ['/l', '/other']);
    await t.throwsAsync(d.list('/missing'), { instanceOf: PathNotFoundError });
    await t.throwsAsync(d.list('/l/a'), { instanceOf: PathNotFoundError }, 'a file has no children');
  }));

  test(`${label}: move renames, replaces the destination, creates its parents`, withDriver(async (t, d) => {
    await d.putContent('/m/src', Buffer.from('source'));
    await d.putContent('/m/dest/existing', Buffer.from('old destination content'));
    await d.move('/m/src', '/m/dest/existing');
    t.is((await d.getContent('/m/dest/existing')).toString(), 'source');
    await t.throwsAsync(d.stat('/m/src'), { instanceOf: PathNotFoundError });

    await d.move('/m/dest/existing', '/n/e/w/place');
    t.is((await d.getContent('/n/e/w/place')).toString(), 'source');
    await t.throwsAsync(d.getContent('/m/dest/existing'), { instanceOf: PathNotFoundError });
  }));

  test(`${label}: move of a missing source is PathNotFoundError and changes nothing`, withDriver(async (t, d) => {
    await d.putContent('/mv/dest', Buffer.from('keep'));
    await t.throwsAsync(d.move('/mv/none', '/mv/dest'), { instanceOf: PathNotFoundError });
    t.is((await d.getContent('/mv/dest')).toString(), 'keep');
  }));

  test(`${label}: move of a written file (upload data to blob) keeps every byte`, withDriver(async (t, d) => {
    const content = randomBytes(2 * 1024 * 1024 + 7);
    const writer = await writeThrough(d, '/uploads/id/data', false, content);
    await writer.commit();
    await d.move('/uploads/id/data', '/blobs/ab/abcd/data');
    sameBytes(t, await d.getContent('/blobs/ab/abcd/data'), content);
  }));

  test(`${label}: delete removes a file or a whole tree`, withDriver(async (t, d) => {
    await d.putContent('/d/keep', Buffer.from('k'));
    await d.putContent('/d/tree/a', Buffer.from('a'));
    await d.putContent('/d/tree/sub/b', Buffer.from('b'));
    await d.putContent('/d/treeish', Buffer.from('not in the tree'));
    await d.delete('/d/tree');
    await t.throwsAsync(d.stat('/d/tree'), { instanceOf: PathNotFoundError });
    await t.throwsAsync(d.getContent('/d/tree/sub/b'), { instanceOf: PathNotFoundError });
    t.deepEqual((await d.list('/d')).sort(), ['/d/keep', '/d/treeish'], 'a sibling sharing the prefix stays');
    await d.delete('/d/keep');
    await t.throwsAsync(d.getContent('/d/keep'), { instanceOf: PathNotFoundError });
    await t.throwsAsync(d.delete('/d/keep'), { instanceOf: PathNotFoundError });
    await t.throwsAsync(d.delete('/never'), { instanceOf: PathNotFoundError });
  }));

  test(`${label}: every operation refuses invalid paths with InvalidPathError`, withDriver(async (t, d) => {
    await d.putContent('/valid/file', Buffer.from('x'));
    for (const path of INVALID_PATHS) {
      const shown = JSON.stringify(path);
      const opts = { instanceOf: InvalidPathError };
      await t.throwsAsync(d.getContent(path), opts, `getContent ${shown}`);
      await t.throwsAsync(d.putContent(path, Buffer.from('x')), opts, `putContent ${shown}`);
      await t.throwsAsync(d.reader(path), opts, `reader ${shown}`);
      await t.throwsAsync(d.writer(path, false), opts, `writer ${shown}`);
      await t.throwsAsync(d.writer(path, true), opts, `writer append ${shown}`);
      await t.throwsAsync(d.stat(path), opts, `stat ${shown}`);
      await t.throwsAsync(d.list(path), opts, `list ${shown}`);
      await t.throwsAsync(d.move(path, '/valid/other'), opts, `move from ${shown}`);
      await t.throwsAsync(d.move('/valid/file', path), opts, `move to ${shown}`);
      await t.throwsAsync(d.delete(path), opts, `delete ${shown}`);
      if (d.copyTo) await t.throwsAsync(d.copyTo(path, new Collector(), 0, 1), opts, `copyTo ${shown}`);
    }
    t.is((await d.getContent('/valid/file')).toString(), 'x', 'the valid file survived every refused move');
    t.deepEqual(await d.list('/'), ['/valid']);
  }));

  test(`${label}: the characters registry paths use are accepted`, withDriver(async (t, d) => {
    const path = '/docker/registry/v2/repositories/my-org/app_1.2/_manifests/tags/v1.0-rc+build=1/current/link';
    await d.putContent(path, Buffer.from('sha256:abc'));
    t.is((await d.getContent(path)).toString(), 'sha256:abc');
  }));

  test(`${label}: copyTo (when the driver has it) writes the requested range`, withDriver(async (t, d) => {
    if (!d.copyTo) {
      t.pass(`${d.name} has no copyTo; blobs are served through reader`);
      return;
    }
    const content = randomBytes(5 * 1024 * 1024 + 99);
    const writer = await writeThrough(d, '/copy/data', false, content);
    await writer.commit();
    for (const [offset, length] of [
      [0, content.length],
      [0, 1],
      [12345, 3 * 1024 * 1024],
      [content.length - 10, 10],
    ] as const) {
      const sink = new Collector();
      await d.copyTo('/copy/data', sink, offset, length);
      sameBytes(t, sink.content, content.subarray(offset, offset + length), `range ${offset}+${length}`);
    }
    await t.throwsAsync(d.copyTo('/copy/missing', new Collector(), 0, 1), { instanceOf: PathNotFoundError });
  }));

  test(`${label}: walk visits every entry depth first, sorted, and can skip a directory`, withDriver(async (t, d) => {
    for (const path of ['/w/b/2', '/w/a/1', '/w/a/sub/3', '/w/c']) await d.putContent(path, Buffer.from(path));
    const seen: FileInfo[] = [];
    await walk(d, '/w', (info) => {
      seen.push(info);
    });
    t.deepEqual(
      seen.map((info) => `${info.path}${info.isDir ? '/' : ''}`),
      ['/w/a/', '/w/a/1', '/w/a/sub/', '/w/a/sub/3', '/w/b/', '/w/b/2', '/w/c'],
    );
    t.is(seen.find((info) => info.path === '/w/c')?.size, '/w/c'.length);

    const skipped: string[] = [];
    await walk(d, '/w', (info) => {
      skipped.push(info.path);
      return info.path !== '/w/a';
    });
    t.deepEqual(skipped, ['/w/a', '/w/b', '/w/b/2', '/w/c']);
    await t.throwsAsync(walk(d, '/nowhere', () => undefined), { instanceOf: PathNotFoundError });
  }));
}

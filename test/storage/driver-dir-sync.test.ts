// The filesystem driver fsyncs directories after every rename that acknowledges a write (and the
// parents of directories it had to create), so a power loss cannot forget a name whose data was
// fsynced. Power loss cannot be simulated here; the syscalls can be watched: the driver runs
// under strace and every rename into place must be followed by an fsync of the directories.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DRIVER = resolve('dist/storage/driver/filesystem.js');

// What the registry does when it acknowledges writes: links into new and existing directories,
// and an upload's data moved under its digest.
const SCRIPT = `
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
const { FilesystemDriver } = await import(process.argv[1]);
const driver = new FilesystemDriver(process.argv[2]);
await driver.putContent('/docker/registry/v2/repositories/a/b/_layers/sha256/aa/link', Buffer.from('sha256:aa'));
await driver.putContent('/docker/registry/v2/repositories/a/b/_layers/sha256/bb/link', Buffer.from('sha256:bb'));
await driver.putContent('/docker/registry/v2/repositories/a/b/_layers/sha256/bb/link', Buffer.from('sha256:bb'));
const writer = await driver.writer('/docker/registry/v2/repositories/a/b/_uploads/u1/data', false);
await pipeline(Readable.from([Buffer.from('blob bytes')]), writer.stream);
await writer.commit();
await driver.move('/docker/registry/v2/repositories/a/b/_uploads/u1/data', '/docker/registry/v2/blobs/sha256/cc/cccc/data');
`;

test('every rename into place is followed by an fsync of its directory and of the directories created for it', async (t) => {
  if (!existsSync('/usr/bin/strace')) {
    t.fail('strace is needed (apt-get install strace; scripts/install-test-deps.sh installs it)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'dir-sync-'));
  try {
    const root = join(dir, 'root');
    const log = join(dir, 'strace.log');
    await run('strace', ['-f', '-qq', '-y', '-o', log, '-e', 'trace=rename,renameat,renameat2,mkdir,mkdirat,fsync', 'node', '--input-type=module', '-e', SCRIPT, DRIVER, root]);
    const lines = (await readFile(log, 'utf8')).split('\n');

    const renames: Array<{ at: number; dest: string }> = [];
    const created: Array<{ at: number; dir: string }> = [];
    const synced: Array<{ at: number; dir: string }> = [];
    lines.forEach((line, at) => {
      const rename = /rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]+)", (?:AT_FDCWD, )?"([^"]+)"/.exec(line);
      if (rename && !rename[2]!.includes('.tmp-')) renames.push({ at, dest: rename[2]! });
      const mkdir = /mkdir(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*= 0$/.exec(line);
      if (mkdir && mkdir[1]!.startsWith(root)) created.push({ at, dir: mkdir[1]! });
      const fsync = /fsync\(\d+<([^>]+)>/.exec(line);
      if (fsync) synced.push({ at, dir: fsync[1]! });
    });
    t.is(renames.length, 4, 'the three links and the blob were renamed into place');
    const syncedAfter = (dir: string, at: number) => synced.some((s) => s.dir === dir && s.at > at);
    const missing = [
      ...renames.filter((r) => !syncedAfter(dirname(r.dest), r.at)).map((r) => `directory of ${r.dest}`),
      // A directory made on the way to a renamed file must be recorded in its parent. (An upload
      // session's own directory is not: its bytes are only made durable when it completes.)
      ...created
        .filter((c) => c.dir !== root && renames.some((r) => r.dest.startsWith(`${c.dir}/`)))
        .filter((c) => !syncedAfter(dirname(c.dir), c.at))
        .map((c) => `parent of new ${c.dir}`),
    ];
    t.deepEqual(missing.map((m) => m.replace(root, '<root>')), [], 'no rename or new directory without a later fsync');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

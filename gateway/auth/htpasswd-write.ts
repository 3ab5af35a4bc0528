// Replacing an htpasswd file atomically: readers (this gateway's reload, registry:2, nginx) see
// either the old or the new file, never a half-written one.
import { randomBytes } from 'node:crypto';
import { chmod, chown, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Writes `text` to `path` through a temporary file in the same directory: write, fsync, rename,
 * fsync the directory. A new file gets mode 0600; an existing one keeps its mode (and, when running
 * as root, its owner). A symbolic link is followed: its target is replaced, the link stays.
 */
export async function writeHtpasswdFile(path: string, text: string): Promise<void> {
  const target = await realpath(path).catch((error: unknown) => {
    if (isNotFound(error)) return path;
    throw error;
  });
  const existing = await stat(target).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  const mode = existing ? existing.mode & 0o7777 : 0o600;
  const directory = dirname(target);
  const temporary = join(directory, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

  const file = await open(temporary, 'wx', 0o600);
  try {
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await chmod(temporary, mode); // open() applied the umask; the old file's mode is what counts
    if (existing && process.getuid?.() === 0) await chown(temporary, existing.uid, existing.gid);
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }

  // Make the rename itself durable. Some platforms cannot fsync a directory; the file is in place.
  const directoryHandle = await open(directory, 'r').catch(() => undefined);
  if (directoryHandle) {
    await directoryHandle.sync().catch(() => undefined);
    await directoryHandle.close();
  }
}

// registry:2's upload purging: sessions older than `age` are removed, so abandoned uploads do
// not fill the disk.
import type { Logger } from '../../common/logger.js';
import type { StorageDriver } from '../driver/driver.js';
import { deleteIfPresent, listNames } from './links.js';
import { paths } from './paths.js';
import { forEachRepositoryFolder } from './repository-list.js';

export interface PurgeOptions {
  olderThan: Date;
  dryRun: boolean;
}

/** Removes every upload session started before `olderThan`; returns how many (would have) gone. */
export async function purgeUploads(driver: StorageDriver, options: PurgeOptions, logger: Logger): Promise<number> {
  let purged = 0;
  await forEachRepositoryFolder(driver, async (name, children) => {
    if (!children.includes('_uploads')) return;
    for (const id of await listNames(driver, paths.uploadsRoot(name))) {
      const started = await startedAt(driver, name, id);
      if (started !== undefined && started >= options.olderThan.getTime()) continue;
      purged += 1;
      logger.info({ session: `${name}/_uploads/${id}`, dryRun: options.dryRun }, 'purging old upload');
      if (!options.dryRun) await deleteIfPresent(driver, paths.uploadDir(name, id));
    }
  });
  return purged;
}

async function startedAt(driver: StorageDriver, name: string, id: string): Promise<number | undefined> {
  try {
    const time = Date.parse((await driver.getContent(paths.uploadStartedAt(name, id))).toString('utf8').trim());
    if (!Number.isNaN(time)) return time;
  } catch {
    // no startedat: fall back to the data file's age
  }
  try {
    return (await driver.stat(paths.uploadData(name, id))).modTime.getTime();
  } catch {
    return undefined; // an empty leftover folder: purge it
  }
}

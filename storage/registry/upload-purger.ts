// registry:2's upload purging: sessions older than `age` are removed, so abandoned uploads do
// not fill the disk.
import type { Logger } from '../../common/logger.js';
import type { StorageDriver } from '../driver/driver.js';
import { deleteIfPresent, listNames } from './links.js';
import { REPOSITORIES } from './paths.js';

export interface PurgeOptions {
  olderThan: Date;
  dryRun: boolean;
}

/** Removes every upload session started before `olderThan`; returns how many (would have) gone. */
export async function purgeUploads(driver: StorageDriver, options: PurgeOptions, logger: Logger): Promise<number> {
  let purged = 0;
  async function visit(dir: string): Promise<void> {
    const children = await listNames(driver, dir);
    if (children.includes('_uploads')) {
      for (const id of await listNames(driver, `${dir}/_uploads`)) {
        const session = `${dir}/_uploads/${id}`;
        const started = await startedAt(driver, session);
        if (started !== undefined && started >= options.olderThan.getTime()) continue;
        purged += 1;
        logger.info({ session: session.slice(REPOSITORIES.length + 1), dryRun: options.dryRun }, 'purging old upload');
        if (!options.dryRun) await deleteIfPresent(driver, session);
      }
    }
    for (const child of children) if (!child.startsWith('_')) await visit(`${dir}/${child}`);
  }
  await visit(REPOSITORIES);
  return purged;
}

async function startedAt(driver: StorageDriver, session: string): Promise<number | undefined> {
  try {
    const time = Date.parse((await driver.getContent(`${session}/startedat`)).toString('utf8').trim());
    if (!Number.isNaN(time)) return time;
  } catch {
    // no startedat: fall back to the data file's age
  }
  try {
    return (await driver.stat(`${session}/data`)).modTime.getTime();
  } catch {
    return undefined; // an empty leftover folder: purge it
  }
}

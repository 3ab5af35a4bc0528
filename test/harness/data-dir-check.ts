// Checks a registry data directory the way a crash must leave it: every blob file hashes to the
// digest it is stored under, every link names a blob that exists, no temporary file outside
// upload sessions, and nothing outside registry:2's layout. Blob files never change once in
// place, so their hashes are remembered between calls (by path, inode, size and mtime), and so is
// what each link file holds: the crash harness checks after every kill without re-reading
// gigabytes, and the cost of a check grows with what changed, plus one listing of the tree.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mapBounded } from '../../storage/registry/bounded.js';
import { CONTROL_DIR, CONTROL_SOCKET } from '../../storage/control-socket.js';

export interface DataDirReport {
  blobs: number;
  links: number;
  /** blobs/.../<hex>/data whose content hashes to something else. */
  corruptBlobs: string[];
  /** Link files that do not hold a digest, or whose blob is missing. */
  badLinks: string[];
  /** Temporary files (`*.tmp-*`) outside `_uploads/`. */
  tempFiles: string[];
  /** Paths that are not part of registry:2's layout. */
  outsideLayout: string[];
}

const V2 = 'docker/registry/v2';
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = `${COMPONENT}(?:/${COMPONENT})*`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9._-]{0,127}';
const DIGEST_PATH = 'sha256/[a-f0-9]{64}';
// Files (and the directories leading to them) that registry:2's layout allows under repositories/.
const REPOSITORY_FILES = new RegExp(
  `^(${NAME})/(?:` +
    [
      `_layers/${DIGEST_PATH}/link`,
      `_manifests/revisions/${DIGEST_PATH}/link`,
      `_manifests/tags/${TAG}/current/link`,
      `_manifests/tags/${TAG}/index/${DIGEST_PATH}/link`,
      `_uploads/[A-Za-z0-9_-]+/(?:data|startedat|hashstates/.+)`,
      `_referrers/${DIGEST_PATH}/${DIGEST_PATH}`,
    ].join('|') +
    ')$',
);

/** Files and directories read at once: enough to hide latency on a loaded machine, few file descriptors. */
const CONCURRENCY = 16;

export class DataDirChecker {
  private readonly hashed = new Map<string, string>();
  /** Link file (path, inode, size, mtime) -> what it holds. */
  private readonly linkContent = new Map<string, string>();

  constructor(readonly root: string) {}

  async check(): Promise<DataDirReport> {
    const report: DataDirReport = { blobs: 0, links: 0, corruptBlobs: [], badLinks: [], tempFiles: [], outsideLayout: [] };
    const top = await listFiles(this.root);
    for (const path of top) {
      // Beside registry:2's layout only storage's control socket (`registry gc` asks through it),
      // which a killed storage leaves behind and the next one replaces.
      if (path === `${CONTROL_DIR}/${CONTROL_SOCKET}`) continue;
      if (!path.startsWith(`${V2}/blobs/`) && !path.startsWith(`${V2}/repositories/`)) report.outsideLayout.push(path);
    }
    const blobHexes = new Set<string>();
    const blobFiles: Array<{ path: string; hex: string }> = [];
    for (const path of top.filter((p) => p.startsWith(`${V2}/blobs/`))) {
      const rest = path.slice(`${V2}/blobs/`.length);
      if (rest.includes('.tmp-')) {
        report.tempFiles.push(path);
        continue;
      }
      const match = /^sha256\/([a-f0-9]{2})\/([a-f0-9]{64})\/data$/.exec(rest);
      if (!match || !match[2]!.startsWith(match[1]!)) {
        report.outsideLayout.push(path);
        continue;
      }
      blobHexes.add(match[2]!);
      blobFiles.push({ path, hex: match[2]! });
    }
    report.blobs = blobFiles.length;
    const linkFiles: string[] = [];
    for (const path of top.filter((p) => p.startsWith(`${V2}/repositories/`))) {
      const rest = path.slice(`${V2}/repositories/`.length);
      const inUploads = /\/_uploads\//.test(rest);
      if (rest.includes('.tmp-')) {
        if (!inUploads) report.tempFiles.push(path);
        continue;
      }
      if (!REPOSITORY_FILES.test(rest)) {
        report.outsideLayout.push(path);
        continue;
      }
      if (rest.endsWith('/link')) linkFiles.push(path);
    }
    report.links = linkFiles.length;
    const corrupt = await mapBounded(blobFiles, CONCURRENCY, async ({ path, hex }) => {
      const actual = await this.hashOf(join(this.root, path));
      return actual !== undefined && actual !== hex ? `${path} (content sha256:${actual})` : undefined;
    });
    report.corruptBlobs = corrupt.filter((p): p is string => p !== undefined);
    // A link is checked against the blobs listed above: the listing is one moment, so a blob is
    // looked up on disk only when the listing did not have it (written after it was listed).
    const bad = await mapBounded(linkFiles, CONCURRENCY, async (path) => {
      const problem = await this.linkProblem(join(this.root, path), blobHexes);
      return problem === undefined ? undefined : `${path}: ${problem}`;
    });
    report.badLinks = bad.filter((p): p is string => p !== undefined);
    return report;
  }

  private async linkProblem(file: string, blobHexes: Set<string>): Promise<string | undefined> {
    let content: string;
    try {
      const info = await stat(file);
      const key = `${file}\0${info.ino}\0${info.size}\0${info.mtimeMs}`;
      const known = this.linkContent.get(key);
      if (known !== undefined) content = known;
      else {
        content = await readFile(file, 'utf8');
        this.linkContent.set(key, content);
      }
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : (err as Error).message;
    }
    const match = /^sha256:([a-f0-9]{64})$/.exec(content);
    if (!match) return `holds ${JSON.stringify(content.slice(0, 100))}, not a digest`;
    const hex = match[1]!;
    if (blobHexes.has(hex)) return undefined;
    try {
      await stat(join(this.root, V2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'));
      return undefined;
    } catch {
      return `names sha256:${hex}, which has no blob`;
    }
  }

  /** The sha256 hex of a file, undefined if it vanished meanwhile (a delete, a purge). */
  private async hashOf(file: string): Promise<string | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return undefined;
    }
    const key = `${file}\0${info.ino}\0${info.size}\0${info.mtimeMs}`;
    const known = this.hashed.get(key);
    if (known) return known;
    const hash = createHash('sha256');
    try {
      await pipeline(createReadStream(file), hash);
    } catch {
      return undefined;
    }
    const hex = hash.digest('hex');
    this.hashed.set(key, hex);
    return hex;
  }
}

/** Every file under `dir` (relative, sorted), directories read with bounded concurrency, level by level. */
async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (let level = ['']; level.length > 0; ) {
    const below = await mapBounded(level, CONCURRENCY, async (relative): Promise<string[]> => {
      let entries;
      try {
        entries = await readdir(join(dir, relative), { withFileTypes: true });
      } catch (err) {
        // Removed meanwhile (an upload session finished): nothing to check there.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const subdirectories: string[] = [];
      for (const entry of entries) {
        const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) subdirectories.push(path);
        else files.push(path);
      }
      return subdirectories;
    });
    level = below.flat();
  }
  return files.sort();
}

export function dataDirFindings(report: DataDirReport, options: { tempFiles: boolean }): string[] {
  return [
    ...report.corruptBlobs.map((p) => `corrupt blob: ${p}`),
    ...report.badLinks.map((p) => `bad link: ${p}`),
    ...(options.tempFiles ? report.tempFiles.map((p) => `temporary file left: ${p}`) : []),
    ...report.outsideLayout.map((p) => `file outside the layout: ${p}`),
  ];
}


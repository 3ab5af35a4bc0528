// Just enough tar for test images: a deterministic ustar writer (sorted names, mtime 0, root
// owner) and a reader that finds regular files in what the clients hand back (docker export,
// layer blobs), including the pax and GNU long-name headers Go's archive/tar may write.

export interface TarEntry {
  /** Path inside the archive, without a leading `./` or `/`; directories end with `/`. */
  path: string;
  /** Regular file content; absent for directories. */
  content?: Buffer;
  mode?: number;
}

const BLOCK = 512;

/** A tar archive of the entries, sorted by path; the same entries always give the same bytes. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  for (const entry of sorted) {
    const isDir = entry.content === undefined;
    const name = isDir && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
    const size = entry.content?.length ?? 0;
    parts.push(header(name, size, entry.mode ?? (isDir ? 0o755 : 0o644), isDir ? '5' : '0'));
    if (entry.content) {
      parts.push(entry.content);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function header(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long for this writer: ${name}`);
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  writeOctal(block, mode, 100, 8);
  writeOctal(block, 0, 108, 8); // uid
  writeOctal(block, 0, 116, 8); // gid
  writeOctal(block, size, 124, 12);
  writeOctal(block, 0, 136, 12); // mtime: the epoch, for reproducible digests
  block.fill(' ', 148, 156); // checksum is computed with this field as spaces
  block.write(type, 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'binary');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'binary');
  return block;
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

/** Regular files of an archive by normalized path (later entries win, as when extracting). */
export function readTarFiles(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    const size = parseOctal(block.subarray(124, 136));
    const type = String.fromCharCode(block[156] ?? 0);
    const body = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      paxPath = paxField(body, 'path') ?? paxPath;
      continue;
    }
    if (type === 'g') continue;
    const prefix = block.subarray(257, 263).toString('binary').startsWith('ustar') ? cString(block.subarray(345, 500)) : '';
    const plain = cString(block.subarray(0, 100));
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${plain}` : plain);
    longName = undefined;
    paxPath = undefined;
    if (type === '0' || type === '\u0000' || type === '7') files.set(normalize(name), Buffer.from(body));
  }
  return files;
}

function normalize(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '');
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

function parseOctal(bytes: Buffer): number {
  const text = cString(bytes).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function paxField(body: Buffer, key: string): string | undefined {
  // Records are "<len> <key>=<value>\n".
  for (const record of body.toString('utf8').split('\n')) {
    const match = /^\d+ ([^=]+)=(.*)$/.exec(record);
    if (match && match[1] === key) return match[2];
  }
  return undefined;
}

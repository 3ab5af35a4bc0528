// The S3 driver: the registry's files as objects in one bucket, with registry:2's s3 driver's
// key layout (`<rootdirectory>/docker/registry/v2/...`), so either program serves a bucket the
// other wrote. Nothing is kept in process memory between calls: every replica over the same
// bucket sees the same files.
//
// Writers stream in `chunksize` parts of a multipart upload (a layer is never whole in memory).
// A writer closed between two PATCHes completes its multipart upload, so the file is a plain
// object that any replica can stat, read and append to; an append starts a new multipart upload
// whose first parts are server-side copies of the existing object (UploadPartCopy), or, for an
// object smaller than S3's 5 MiB minimum part, its bytes read back into the first part.
// Directories do not exist in S3: a directory is the common prefix of the keys below it.
import { Readable, Writable } from 'node:stream';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type ServerSideEncryption,
  type StorageClass,
  type ObjectCannedACL,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Settings } from '../../common/config/types.js';
import { copyFailed, S3Requester } from './s3-request.js';
import { checkPath, PathNotFoundError, type FileInfo, type FileWriter, type KnownFile, type StorageDriver } from './driver.js';

export const MIN_CHUNK_SIZE = 5 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024;
const MAX_COPY_PART = 5 * 1024 * 1024 * 1024;
const DEFAULT_COPY_CHUNK = 32 * 1024 * 1024;
const DEFAULT_COPY_THRESHOLD = 32 * 1024 * 1024;
const DEFAULT_COPY_CONCURRENCY = 100;
const LIST_MAX = 1000;

export type { S3Settings };

export function defaultS3Settings(partial: Partial<S3Settings> & { bucket: string }): S3Settings {
  return {
    region: 'us-east-1',
    rootdirectory: '',
    forcepathstyle: false,
    chunksize: DEFAULT_CHUNK_SIZE,
    secure: true,
    skipverify: false,
    encrypt: false,
    multipartcopychunksize: DEFAULT_COPY_CHUNK,
    multipartcopymaxconcurrency: DEFAULT_COPY_CONCURRENCY,
    multipartcopythresholdsize: DEFAULT_COPY_THRESHOLD,
    ...partial,
  };
}

export class S3Driver implements StorageDriver {
  readonly name = 's3aws';
  readonly client: S3Client;
  /** Small single-object requests (HEAD, GET/PUT of small files, copy, delete) without the SDK's overhead. */
  private readonly requester: S3Requester;
  private readonly bucket: string;
  private readonly root: string;

  constructor(readonly settings: S3Settings) {
    // The SDK warns at its first request that its releases after January 2027 need Node 22. The
    // lock file pins the release this registry was tested with, so on every start that was only
    // a scary paragraph in the logs; an operator can still turn it back on with "false".
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    if (settings.chunksize < MIN_CHUNK_SIZE) throw new Error(`s3 chunksize must be at least ${MIN_CHUNK_SIZE} (5 MiB), got ${settings.chunksize}`);
    this.bucket = settings.bucket;
    // registry:2: strings.TrimLeft(strings.TrimRight(rootdirectory, "/") + path, "/").
    this.root = settings.rootdirectory.replace(/\/+$/, '');
    let endpoint = settings.regionendpoint;
    if (endpoint && !/^https?:\/\//i.test(endpoint)) endpoint = `${settings.secure ? 'https' : 'http'}://${endpoint}`;
    const agentOptions = { keepAlive: true, maxSockets: 256 };
    const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent({ ...agentOptions, rejectUnauthorized: !settings.skipverify }) };
    this.client = new S3Client({
      region: settings.region,
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: settings.forcepathstyle,
      // Without these the SDK adds flexible checksums that need the whole body up front:
      // a streamed PutObject then fails with 411 on engines that do not know them (Ceph RGW).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK otherwise rebuilds (clones and sorts) its middleware stack on every request: a
      // large part of its CPU per small request. Nothing here adds middleware after the first
      // send (the presigner resolves its own copy of the stack).
      cacheMiddleware: true,
      ...(settings.accesskey && settings.secretkey
        ? { credentials: { accessKeyId: settings.accesskey, secretAccessKey: settings.secretkey, ...(settings.sessiontoken ? { sessionToken: settings.sessiontoken } : {}) } }
        : {}), // else the SDK's chain: AWS_* variables, ~/.aws files, instance/container roles
      requestHandler: {
        httpAgent: agents.http,
        httpsAgent: agents.https,
      },
    });
    this.requester = new S3Requester(this.client, this.bucket, agents);
  }

  /** The object key of a driver path. */
  key(path: string): string {
    return `${this.root}${path}`.replace(/^\/+/, '');
  }

  private dirPrefix(path: string): string {
    const key = path === '/' ? this.key('') : this.key(path);
    return key === '' ? '' : `${key}/`;
  }

  private writeOptions() {
    const s = this.settings;
    return {
      ContentType: 'application/octet-stream',
      ...(s.encrypt ? { ServerSideEncryption: (s.keyid ? 'aws:kms' : 'AES256') as ServerSideEncryption } : {}),
      ...(s.encrypt && s.keyid ? { SSEKMSKeyId: s.keyid } : {}),
      ...(s.storageclass && s.storageclass.toUpperCase() !== 'NONE' ? { StorageClass: s.storageclass as StorageClass } : {}),
      ...(s.objectacl ? { ACL: s.objectacl as ObjectCannedACL } : {}),
    };
  }

  /** writeOptions() as the S3 headers of a PutObject or CopyObject. */
  private writeHeaders(): Record<string, string> {
    const o = this.writeOptions();
    return {
      ...(o.ServerSideEncryption ? { 'x-amz-server-side-encryption': o.ServerSideEncryption } : {}),
      ...(o.SSEKMSKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': o.SSEKMSKeyId } : {}),
      ...(o.StorageClass ? { 'x-amz-storage-class': o.StorageClass } : {}),
      ...(o.ACL ? { 'x-amz-acl': o.ACL } : {}),
    };
  }

  async getContent(path: string): Promise<Buffer> {
    checkPath(path);
    return await this.getWhole(path, undefined);
  }

  private async getWhole(path: string, ifMatch: string | undefined): Promise<Buffer> {
    try {
      return (await this.requester.send('GET', this.key(path), ifMatch ? { 'if-match': ifMatch } : {})).body;
    } catch (err) {
      throw notFound(err, path);
    }
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    checkPath(path);
    await this.putWhole(path, content);
  }

  /** One PutObject of a whole (small) file; returns its ETag. @internal used by S3Writer */
  async putWhole(path: string, content: Uint8Array): Promise<string | undefined> {
    const out = await this.requester.send('PUT', this.key(path), { 'content-type': 'application/octet-stream', ...this.writeHeaders() }, content);
    return out.headers.etag || undefined;
  }

  async reader(path: string, offset = 0, length?: number): Promise<Readable> {
    checkPath(path);
    if (length === 0) {
      await this.stat(path);
      return Readable.from([]);
    }
    const range = `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path), Range: range }));
      return out.Body as Readable;
    } catch (err) {
      // Past the end: nothing to read (registry:2 answers an empty reader too).
      if (errorName(err) === 'InvalidRange' || statusOf(err) === 416) return Readable.from([]);
      throw notFound(err, path);
    }
  }

  async writer(path: string, append: boolean, known?: KnownFile): Promise<FileWriter> {
    checkPath(path);
    let existing: KnownFile | undefined;
    if (append) {
      try {
        existing = known ?? (await this.head(path));
      } catch (err) {
        if (!(err instanceof PathNotFoundError)) throw err;
      }
    }
    return new S3Writer(this, path, append, existing);
  }

  /**
   * The bytes of a file smaller than a part, read back to start the first part of an append
   * (S3 cannot append); `version` makes it fail if the file changed since it was stat'ed.
   * @internal used by S3Writer
   */
  async readPrefix(path: string, version: string | undefined): Promise<Buffer> {
    return await this.getWhole(path, version);
  }

  async stat(path: string, options: { file?: boolean } = {}): Promise<FileInfo> {
    checkPath(path);
    // The root is a directory (at the bucket root its key is empty: a HEAD would be a HeadBucket).
    if (path !== '/') {
      try {
        return await this.head(path);
      } catch (err) {
        if (!(err instanceof PathNotFoundError) || options.file) throw err;
      }
    }
    const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.dirPrefix(path), MaxKeys: 1 }));
    if ((out.KeyCount ?? out.Contents?.length ?? 0) > 0) return { path, size: 0, modTime: new Date(0), isDir: true };
    throw new PathNotFoundError(path);
  }

  private async head(path: string): Promise<FileInfo> {
    try {
      const { headers } = await this.requester.send('HEAD', this.key(path));
      const modified = headers['last-modified'] ? new Date(headers['last-modified']) : new Date(0);
      return { path, size: Number(headers['content-length'] ?? 0), modTime: modified, isDir: false, version: headers.etag || undefined };
    } catch (err) {
      throw notFound(err, path);
    }
  }

  async list(path: string): Promise<string[]> {
    checkPath(path);
    const prefix = this.dirPrefix(path);
    const base = path === '/' ? '' : path;
    const children: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', MaxKeys: LIST_MAX, ContinuationToken: token }),
      );
      for (const item of out.Contents ?? []) children.push(`${base}/${item.Key!.slice(prefix.length)}`);
      for (const dir of out.CommonPrefixes ?? []) children.push(`${base}/${dir.Prefix!.slice(prefix.length, -1)}`);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    if (children.length === 0) throw new PathNotFoundError(path);
    return children;
  }

  async move(sourcePath: string, destPath: string, known?: KnownFile): Promise<void> {
    checkPath(sourcePath);
    checkPath(destPath);
    // A known source is copied only if it is still that version (the size picks the copy method
    // and the part ranges: a source grown since must not be copied by stale ranges).
    const source = known ?? (await this.head(sourcePath));
    await this.copy(sourcePath, destPath, source.size, known?.version);
    await this.requester.send('DELETE', this.key(sourcePath));
  }

  /** Server-side copy: one CopyObject up to the threshold, parallel UploadPartCopy parts above. */
  private async copy(sourcePath: string, destPath: string, size: number, version?: string): Promise<void> {
    const s = this.settings;
    const copySource = `${this.bucket}/${encodeKey(this.key(sourcePath))}`;
    const ifMatch = version ? { CopySourceIfMatch: version } : {};
    if (size <= s.multipartcopythresholdsize) {
      try {
        const out = await this.requester.send('PUT', this.key(destPath), {
          'x-amz-copy-source': copySource,
          ...(version ? { 'x-amz-copy-source-if-match': version } : {}),
          ...this.writeHeaders(),
        });
        const failed = copyFailed(out);
        if (failed) throw failed;
      } catch (err) {
        throw notFound(err, sourcePath);
      }
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(destPath), ...this.writeOptions() }));
    try {
      const ranges = splitRanges(0, size, Math.min(Math.max(s.multipartcopychunksize, MIN_CHUNK_SIZE), MAX_COPY_PART));
      const parts: CompletedPart[] = new Array(ranges.length);
      let next = 0;
      const worker = async () => {
        while (next < ranges.length) {
          const index = next++;
          const [start, end] = ranges[index]!;
          const out = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: this.key(destPath),
              UploadId,
              PartNumber: index + 1,
              CopySource: copySource,
              CopySourceRange: `bytes=${start}-${end - 1}`,
              ...ifMatch,
            }),
          );
          parts[index] = { PartNumber: index + 1, ETag: out.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(s.multipartcopymaxconcurrency, ranges.length)) }, worker));
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(destPath), UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.abort(destPath, UploadId!);
      throw notFound(err, sourcePath);
    }
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    const key = this.key(path);
    const dir = this.dirPrefix(path);
    let found = false;
    let token: string | undefined;
    // Listed by the bare key (registry:2 too): the file itself and everything below it, but not
    // a sibling that shares the prefix (`/d/treeish` when deleting `/d/tree`).
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: LIST_MAX, ContinuationToken: token }));
      const keys = (out.Contents ?? []).map((item) => item.Key!).filter((k) => k === key || k.startsWith(dir) || dir === '');
      if (keys.length > 0) {
        found = true;
        await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    if (!found) throw new PathNotFoundError(path);
  }

  /** registry:2's RedirectURL: a presigned GET (or HEAD) URL valid for `expiresIn` seconds. */
  async redirectURL(path: string, method: 'GET' | 'HEAD', expiresIn = 1200): Promise<string> {
    checkPath(path);
    const command = method === 'HEAD'
      ? new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) })
      : new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) });
    return await getSignedUrl(this.client, command, { expiresIn });
  }

  /** @internal used by S3Writer */
  async abort(path: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(path), UploadId: uploadId })).catch(() => undefined);
  }

  /** @internal used by S3Writer */
  get writeSettings() {
    return { bucket: this.bucket, options: this.writeOptions() };
  }
}

/**
 * One writer: bytes gather into a `chunksize` buffer; each full buffer is uploaded as a part
 * while the next one fills (one part in flight: memory is at most two chunks). Close and commit
 * complete the multipart upload (or put a small file whole); cancel aborts it and removes the file.
 * An append writer touches the existing object only when bytes arrive: a close or commit with
 * nothing new costs no request (the object is already whole and durable).
 */
class S3Writer implements FileWriter {
  readonly stream: Writable;
  private written = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private inFlight: Promise<void> | undefined;
  private failed: Error | undefined;
  private done = false;
  private readonly existingSize: number;
  /** The existing object is smaller than a part and not yet read back in front of `pending`. */
  private prefixToRead: boolean;
  private writtenVersion: string | undefined;

  constructor(
    private readonly driver: S3Driver,
    private readonly path: string,
    private readonly append: boolean,
    private readonly existing: KnownFile | undefined,
  ) {
    this.existingSize = existing?.size ?? 0;
    this.prefixToRead = this.existingSize > 0 && this.existingSize < MIN_CHUNK_SIZE;
    this.stream = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        this.written += chunk.length;
        if (this.pendingBytes + (this.prefixToRead ? this.existingSize : 0) < this.driver.settings.chunksize) return callback();
        this.flushPart().then(() => callback(), callback);
      },
      final: (callback) => {
        // Waits for the part in flight, so that `size` and errors are settled when the stream finishes.
        (this.inFlight ?? Promise.resolve()).then(() => callback(this.failed), callback);
      },
    });
  }

  get size(): number {
    return this.existingSize + this.written;
  }

  /** The object's ETag after close/commit, when the write reported one (RGW's Complete does not). */
  get version(): string | undefined {
    return this.writtenVersion;
  }

  private get key(): string {
    return this.driver.key(this.path);
  }

  /** Puts the existing object's bytes in front of what is pending (S3 cannot append to an object). */
  private async readPrefix(): Promise<void> {
    if (!this.prefixToRead) return;
    const prefix = await this.driver.readPrefix(this.path, this.existing?.version);
    this.prefixToRead = false;
    this.pending.unshift(prefix);
    this.pendingBytes += prefix.length;
  }

  private async start(): Promise<void> {
    if (this.uploadId !== undefined) return;
    const { bucket, options } = this.driver.writeSettings;
    const out = await this.driver.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: this.key, ...options }));
    this.uploadId = out.UploadId!;
    // The existing object (5 MiB or more, else it is in `pending`) becomes the first parts.
    if (this.existingSize >= MIN_CHUNK_SIZE) {
      const source = `${bucket}/${encodeKey(this.key)}`;
      const ifMatch = this.existing?.version ? { CopySourceIfMatch: this.existing.version } : {};
      for (const [start, end] of splitRanges(0, this.existingSize, MAX_COPY_PART)) {
        const number = this.parts.length + 1;
        const copied = await this.driver.client.send(
          new UploadPartCopyCommand({ Bucket: bucket, Key: this.key, UploadId: this.uploadId, PartNumber: number, CopySource: source, CopySourceRange: `bytes=${start}-${end - 1}`, ...ifMatch }),
        );
        this.parts.push({ PartNumber: number, ETag: copied.CopyPartResult?.ETag });
      }
    }
  }

  /** Starts uploading what is pending as the next part, after the part in flight has finished. */
  private async flushPart(): Promise<void> {
    await this.inFlight;
    if (this.failed) throw this.failed;
    await this.readPrefix();
    const body = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.start();
    const partNumber = this.parts.length + 1;
    const { bucket } = this.driver.writeSettings;
    this.inFlight = this.driver.client
      .send(new UploadPartCommand({ Bucket: bucket, Key: this.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }))
      .then(
        (out) => {
          this.parts.push({ PartNumber: partNumber, ETag: out.ETag });
        },
        (err: Error) => {
          this.failed = err;
        },
      );
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.stream.writableFinished && !this.stream.destroyed) {
      await new Promise<void>((resolve) => this.stream.end(() => resolve()));
    }
    await this.inFlight;
    if (this.failed) {
      if (this.uploadId) await this.driver.abort(this.path, this.uploadId);
      throw this.failed;
    }
    const { bucket } = this.driver.writeSettings;
    if (this.uploadId === undefined) {
      // Nothing new for a file that is there: it stays as it is (no copy for a PUT without a body).
      if (this.append && this.written === 0 && this.existing !== undefined) {
        this.writtenVersion = this.existing.version;
        return;
      }
      if (this.existingSize < MIN_CHUNK_SIZE) {
        await this.readPrefix();
        const body = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [];
        this.writtenVersion = await this.driver.putWhole(this.path, body);
        return;
      }
    }
    if (this.pendingBytes > 0 || this.parts.length === 0) {
      await this.flushPart();
      await this.inFlight;
      if (this.failed) {
        await this.driver.abort(this.path, this.uploadId!);
        throw this.failed;
      }
    }
    try {
      const out = await this.driver.client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
      );
      this.writtenVersion = out.ETag || undefined;
    } catch (err) {
      await this.driver.abort(this.path, this.uploadId!);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.finish();
  }

  async commit(): Promise<void> {
    await this.finish();
  }

  async cancel(): Promise<void> {
    this.done = true;
    this.stream.destroy();
    await this.inFlight;
    if (this.uploadId) await this.driver.abort(this.path, this.uploadId);
    await this.driver.delete(this.path).catch(() => undefined);
  }
}

/** [start, end) ranges of at most `max` bytes covering [from, to), as even as possible. */
function splitRanges(from: number, to: number, max: number): Array<[number, number]> {
  const total = to - from;
  const count = Math.max(1, Math.ceil(total / max));
  const each = Math.ceil(total / count);
  const ranges: Array<[number, number]> = [];
  for (let start = from; start < to; start += each) ranges.push([start, Math.min(to, start + each)]);
  return ranges;
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function errorName(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** NoSuchKey / 404 as PathNotFoundError; anything else unchanged. */
function notFound(err: unknown, path: string): unknown {
  if (err instanceof PathNotFoundError) return err;
  const name = errorName(err);
  if (name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404) return new PathNotFoundError(path);
  return err;
}

// `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`: downloads (with `Range` for resumes) and
// removal of a blob from a repository.
import type { Context } from 'koa';
import { RegistryError } from '../../common/errors.js';
import {
  FILE_HANDOFF_PATH_HEADER,
  FILE_HANDOFF_RANGE_HEADER,
  FILE_HANDOFF_REQUEST_HEADER,
} from '../../common/internal-headers.js';
import type { StorageDeps } from '../http/context.js';
import type { BlobRange } from '../registry/blob-store.js';
import { digestParam, nameParam, requireDeleteEnabled } from './params.js';
import { emptyBody } from '../http/empty-body.js';

export function blobHandlers({ registry, options }: StorageDeps) {
  return {
    async get(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const digest = digestParam(ctx);
      const size = await registry.blobs.stat(name, digest);
      ctx.set('Docker-Content-Digest', digest.digest);
      ctx.set('ETag', `"${digest.digest}"`);
      ctx.set('Accept-Ranges', 'bytes');
      ctx.set('Cache-Control', 'max-age=31536000');
      ctx.type = 'application/octet-stream';
      const range = parseRange(ctx.get('range'), size);
      ctx.status = range ? 206 : 200;
      if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      const length = range ? range.end - range.start + 1 : size;
      if (ctx.method === 'HEAD') {
        // Koa answers HEAD with the headers only; no file is opened.
        ctx.length = length;
        return;
      }
      const localFile = ctx.get(FILE_HANDOFF_REQUEST_HEADER) ? registry.blobs.localFile(digest) : undefined;
      if (localFile !== undefined) {
        // The gateway reads the data directory itself: name the file and range, send no bytes.
        ctx.set(FILE_HANDOFF_PATH_HEADER, localFile);
        if (length > 0) ctx.set(FILE_HANDOFF_RANGE_HEADER, `${range?.start ?? 0}-${range?.end ?? size - 1}`);
        ctx.body = ''; // Content-Type stays application/octet-stream for the gateway to pass on
        return;
      }
      // Koa steps aside: the blob goes from the driver to the socket without a stream per chunk.
      ctx.length = length;
      ctx.respond = false;
      ctx.res.statusCode = ctx.status;
      try {
        await registry.blobs.send(digest, ctx.res, range ?? { start: 0, end: size - 1 });
        ctx.res.end();
      } catch (err) {
        if (ctx.res.headersSent) {
          ctx.res.destroy(); // the client sees a short body, never a wrong one
          return;
        }
        ctx.respond = true;
        throw err;
      }
    },

    async delete(ctx: Context): Promise<void> {
      requireDeleteEnabled(options.deleteEnabled);
      const name = nameParam(ctx);
      const digest = digestParam(ctx);
      if (!(await registry.blobs.unlink(name, digest))) {
        throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.digest });
      }
      ctx.status = 202;
      ctx.set('Docker-Content-Digest', digest.digest);
      emptyBody(ctx);
    },
  };
}

/** A single `bytes=start-end` / `bytes=start-` / `bytes=-suffix` range, or undefined for the whole blob. */
export function parseRange(header: string, size: number): BlobRange | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () =>
    new RegistryError('BLOB_UNKNOWN', 'requested range not satisfiable', { range: header }, {
      status: 416,
      headers: { 'Content-Range': `bytes */${size}` },
    });
  if (!match || (match[1] === '' && match[2] === '')) throw unsatisfiable();
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) throw unsatisfiable();
  return { start, end };
}

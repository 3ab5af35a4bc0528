// `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`: downloads (with `Range` for resumes) and
// removal of a blob from a repository.
import type { Context } from 'koa';
import rangeParser from 'range-parser';
import { RegistryError } from '../../common/errors.js';
import {
  FILE_HANDOFF_PATH_HEADER,
  FILE_HANDOFF_REQUEST_HEADER,
  HANDOFF_RANGE_HEADER,
  URL_HANDOFF_HEADER,
  URL_HANDOFF_REQUEST_HEADER,
} from '../../common/internal-headers.js';
import type { StorageDeps } from '../http/context.js';
import type { BlobRange } from '../registry/blob-store.js';
import { digestParam, nameParam, proxyRoute, requireDeleteEnabled } from './params.js';
import { emptyBody } from '../http/empty-body.js';

export function blobHandlers({ registry, options, notifier, proxy }: StorageDeps) {
  return {
    async get(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const digest = digestParam(ctx);
      const route = proxyRoute(ctx, proxy, name);
      if (route && !(await proxy!.hasBlob(route, digest))) {
        const fetched = await proxy!.serveBlob(ctx, route, digest);
        if (fetched.size !== undefined) notifier?.blob(ctx, 'pull', name, digest.digest, fetched.size);
        return;
      }
      const size = await registry.blobs.stat(route?.localName ?? name, digest);
      ctx.set('Docker-Content-Digest', digest.digest);
      ctx.set('ETag', `"${digest.digest}"`);
      ctx.set('Accept-Ranges', 'bytes');
      ctx.set('Cache-Control', 'max-age=31536000');
      ctx.type = 'application/octet-stream';
      const range = parseRange(ctx.get('range'), size);
      ctx.status = range ? 206 : 200;
      if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      const length = range ? range.end - range.start + 1 : size;
      notifier?.blob(ctx, 'pull', name, digest.digest, size);
      if (ctx.method === 'HEAD') {
        // Koa answers HEAD with the headers only; no file is opened.
        ctx.length = length;
        return;
      }
      const redirect = options.redirect && !range ? await registry.blobs.redirectURL(digest) : undefined;
      if (redirect !== undefined) {
        // registry:2's storage.redirect: the client fetches the bytes from the bucket itself.
        // Range requests (resumes) are served here, so the answer keeps its Content-Range.
        ctx.status = 307;
        ctx.remove('Content-Range');
        ctx.redirect(redirect);
        ctx.status = 307;
        emptyBody(ctx);
        return;
      }
      const localFile = ctx.get(FILE_HANDOFF_REQUEST_HEADER) ? registry.blobs.localFile(digest) : undefined;
      const url = localFile === undefined && ctx.get(URL_HANDOFF_REQUEST_HEADER) ? await registry.blobs.handoffURL(digest) : undefined;
      if (localFile !== undefined || url !== undefined) {
        // The gateway reads the data directory or the bucket itself: name the file or a signed
        // URL, and the range; send no bytes.
        if (localFile !== undefined) ctx.set(FILE_HANDOFF_PATH_HEADER, localFile);
        else ctx.set(URL_HANDOFF_HEADER, url!);
        if (length > 0) ctx.set(HANDOFF_RANGE_HEADER, `${range?.start ?? 0}-${range?.end ?? size - 1}`);
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
      proxy?.refuseWrite(proxyRoute(ctx, proxy, name));
      const digest = digestParam(ctx);
      if (!(await registry.blobs.unlink(name, digest))) {
        throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.digest });
      }
      notifier?.emit(ctx, 'delete', { digest: digest.digest, repository: name });
      ctx.status = 202;
      ctx.set('Docker-Content-Digest', digest.digest);
      emptyBody(ctx);
    },
  };
}

/** A single `bytes=start-end` / `bytes=start-` / `bytes=-suffix` range, or undefined for the whole blob. */
export function parseRange(header: string, size: number): BlobRange | undefined {
  if (!header) return undefined;
  // RFC 9110 (and registry:2's http.ServeContent) serve the whole blob for a suffix longer than
  // it; range-parser calls that unsatisfiable, so the suffix is capped at the size first.
  const capped = header.trim().replace(/^bytes=-(\d+)$/, (_, suffix: string) => `bytes=-${Math.min(Number(suffix), size)}`);
  const ranges = rangeParser(size, capped);
  if (ranges === -1 || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) {
    throw new RegistryError('BLOB_UNKNOWN', 'requested range not satisfiable', { range: header }, {
      status: 416,
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}

// Blob uploads: `POST` (start, monolithic `?digest=`, cross-repository `?mount=&from=`),
// `PATCH` (streamed or chunked with `Content-Range`), `GET` status, `PUT ?digest=` (complete,
// with or without a final body) and `DELETE` (cancel).
import type { Context } from 'koa';
import { parseDigest } from '../../common/digest.js';
import { RegistryError } from '../../common/errors.js';
import { INTERNAL_USER_HEADER } from '../../common/internal-headers.js';
import { assertName } from '../../common/names.js';
import { hasBody } from '../http/body.js';
import { repositoryKey } from '../registry/gc-gate.js';
import type { StorageDeps } from '../http/context.js';
import { location, repositoryPath } from '../http/locations.js';
import { rangeHeader, type AppendOptions } from '../registry/upload-store.js';
import { nameParam, proxyRoute, stringParam } from './params.js';
import { emptyBody } from '../http/empty-body.js';

export function uploadHandlers({ registry, options, notifier, proxy }: StorageDeps) {
  function answerSession(ctx: Context, status: number, name: string, id: string, size: number): void {
    ctx.status = status;
    ctx.set('Location', location(ctx, options, `${repositoryPath(name, `blobs/uploads/${id}`)}?_state=${uploadState(name, id, size)}`));
    ctx.set('Docker-Upload-UUID', id);
    ctx.set('Range', rangeHeader(size));
    emptyBody(ctx);
  }

  function answerBlob(ctx: Context, name: string, digest: string): void {
    ctx.status = 201;
    ctx.set('Location', location(ctx, options, repositoryPath(name, `blobs/${digest}`)));
    ctx.set('Docker-Content-Digest', digest);
    emptyBody(ctx);
  }

  return {
    async start(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      proxy?.refuseWrite(proxyRoute(ctx, proxy, name));
      const { mount, from, digest } = ctx.query;
      if (typeof mount === 'string') {
        const blob = parseDigest(mount);
        if (typeof from === 'string' && from !== '') {
          assertName(from);
          const mounted = await registry.gate.using([blob.digest, repositoryKey(name)], async () => {
            if (!(await registry.blobs.isLinked(from, blob)) || (await registry.blobs.size(blob)) === undefined) return false;
            await registry.blobs.link(name, blob);
            if (notifier) notifier.blob(ctx, 'mount', name, blob.digest, (await registry.blobs.size(blob)) ?? 0, from);
            return true;
          });
          if (mounted) {
            answerBlob(ctx, name, blob.digest);
            return;
          }
        }
        // Not mountable: the spec says to fall back to a regular upload session.
      }
      // Parsed before the session exists: a malformed digest must not leave an orphan session.
      const expected = typeof digest === 'string' ? parseDigest(digest) : undefined;
      const id = await registry.uploads.start(name, clientOf(ctx));
      if (expected) {
        const size = await registry.uploads.complete(name, id, expected, hasBody(ctx.req) ? ctx.req : undefined);
        notifier?.blob(ctx, 'push', name, expected.digest, size);
        answerBlob(ctx, name, expected.digest);
        return;
      }
      answerSession(ctx, 202, name, id, 0);
    },

    async status(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const id = stringParam(ctx, 'uuid');
      const size = await registry.uploads.size(name, id);
      answerSession(ctx, 204, name, id, size);
    },

    async patch(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const id = stringParam(ctx, 'uuid');
      const size = await registry.uploads.append(name, id, ctx.req, chunkOptions(ctx));
      answerSession(ctx, 202, name, id, size);
    },

    async complete(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const id = stringParam(ctx, 'uuid');
      const digestParam = ctx.query.digest;
      if (typeof digestParam !== 'string') {
        throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
      }
      const digest = parseDigest(digestParam);
      const size = await registry.uploads.complete(name, id, digest, hasBody(ctx.req) ? ctx.req : undefined);
      notifier?.blob(ctx, 'push', name, digest.digest, size);
      answerBlob(ctx, name, digest.digest);
    },

    async cancel(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const id = stringParam(ctx, 'uuid');
      await registry.uploads.cancel(name, id);
      ctx.status = 204;
    },
  };
}

/**
 * Who opens an upload session, for the per-client cap: the user the gateway authenticated, else
 * the client address it forwarded (storage is reachable only by the gateway), else the peer.
 */
function clientOf(ctx: Context): string {
  const user = ctx.get(INTERNAL_USER_HEADER);
  if (user) return `user:${user}`;
  const forwarded = ctx.get('x-forwarded-for').split(',')[0]?.trim();
  return `address:${forwarded || ctx.req.socket.remoteAddress || ''}`;
}

/** `Content-Range: <start>-<end>` of a chunked PATCH (inclusive), with its length. */
function chunkOptions(ctx: Context): AppendOptions {
  const header = ctx.get('content-range');
  if (!header) return {};
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `malformed Content-Range ${JSON.stringify(header)}`, undefined, {
      status: 416,
    });
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'Content-Range end before start', undefined, { status: 416 });
  }
  const length = end - start + 1;
  const declared = ctx.get('content-length');
  if (declared !== '' && Number(declared) !== length) {
    throw new RegistryError('SIZE_INVALID', `Content-Range covers ${length} bytes, Content-Length says ${declared}`);
  }
  return { start, length };
}

/**
 * registry:2 puts a `_state` query parameter in every upload Location, and scripts written for it
 * complete an upload with `PUT "<Location>&digest=…"`. The session lives in storage, so the value
 * is only informative and never read back.
 */
function uploadState(name: string, id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ Name: name, UUID: id, Offset: offset })).toString('base64url');
}

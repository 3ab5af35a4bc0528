// `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`, by tag or digest.
import type { Context } from 'koa';
import { RegistryError } from '../../common/errors.js';
import { parseDigest } from '../../common/digest.js';
import { readBody } from '../http/body.js';
import type { StorageDeps } from '../http/context.js';
import { location, repositoryPath } from '../http/locations.js';
import { MAX_MANIFEST_BYTES } from '../registry/manifest-parser.js';
import { nameParam, requireDeleteEnabled, stringParam } from './params.js';
import { emptyBody } from '../http/empty-body.js';

export function manifestHandlers({ registry, options }: StorageDeps) {
  return {
    async get(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const manifest = await registry.manifests.get(name, stringParam(ctx, 'reference'));
      ctx.status = 200;
      ctx.set('Docker-Content-Digest', manifest.digest.digest);
      ctx.set('ETag', `"${manifest.digest.digest}"`);
      ctx.type = manifest.mediaType;
      if (ctx.method === 'HEAD') {
        ctx.length = manifest.content.length;
        return;
      }
      ctx.body = manifest.content;
    },

    async put(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const reference = stringParam(ctx, 'reference');
      const content = await readBody(ctx.req, MAX_MANIFEST_BYTES);
      const result = await registry.manifests.put(name, reference, ctx.get('content-type') || undefined, content);
      ctx.status = 201;
      ctx.set('Location', location(ctx, options, repositoryPath(name, `manifests/${result.digest.digest}`)));
      ctx.set('Docker-Content-Digest', result.digest.digest);
      if (result.subject) ctx.set('OCI-Subject', result.subject.digest);
      emptyBody(ctx);
    },

    async delete(ctx: Context): Promise<void> {
      requireDeleteEnabled(options.deleteEnabled);
      const name = nameParam(ctx);
      const reference = stringParam(ctx, 'reference');
      if (reference.includes(':')) {
        await registry.manifests.delete(name, parseDigest(reference));
      } else {
        await registry.manifests.deleteTag(name, reference);
      }
      ctx.status = 202;
      emptyBody(ctx);
    },
  };
}

export function unknownRepository(name: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', undefined, { name });
}

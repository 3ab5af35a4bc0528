// `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`, by tag or digest.
import type { Context } from 'koa';
import { RegistryError } from '../../common/errors.js';
import { parseDigest } from '../../common/digest.js';
import { readBody } from '../http/body.js';
import type { StorageDeps } from '../http/context.js';
import { location, repositoryPath } from '../http/locations.js';
import { Budget } from '../registry/bounded.js';
import { MAX_MANIFEST_BYTES } from '../registry/manifest-parser.js';
import { nameParam, proxyRoute, requireDeleteEnabled, stringParam } from './params.js';
import { emptyBody } from '../http/empty-body.js';

// Manifest bytes being read and parsed at once, across all requests. Parsing a manifest dense in
// references holds ~8 times its size: 8 MiB (two 4 MiB manifests, or thousands of ordinary
// ones) bounds storage's heap under a crowd of them (16 MiB before; 20 clients PUTting 1-4 MiB
// manifests for 20 s: peak RSS 244 -> 166 MiB, and 112 MiB with start.ts's heap and malloc settings).
const MANIFEST_BUDGET_BYTES = 8 * 1024 * 1024;

export function manifestHandlers({ registry, options, notifier, proxy }: StorageDeps) {
  const manifestBytes = new Budget(MANIFEST_BUDGET_BYTES);
  return {
    async get(ctx: Context): Promise<void> {
      const name = nameParam(ctx);
      const reference = stringParam(ctx, 'reference');
      const route = proxyRoute(ctx, proxy, name);
      const manifest = route ? await proxy!.manifest(route, reference) : await registry.manifests.get(name, reference);
      notifier?.manifest(ctx, 'pull', name, describe(manifest.mediaType, manifest.digest.digest, manifest.content), tagOf(reference));
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
      proxy?.refuseWrite(proxyRoute(ctx, proxy, name));
      // Reading and parsing a manifest holds several times its size: a crowd of 4 MiB bodies
      // takes turns within the budget (a body of unknown size counts as the largest allowed).
      const declared = Number(ctx.get('content-length'));
      const weight = Number.isSafeInteger(declared) && declared >= 0 ? declared : MAX_MANIFEST_BYTES;
      const result = await manifestBytes.run(weight, async () => {
        const content = await readBody(ctx.req, MAX_MANIFEST_BYTES);
        const stored = await registry.manifests.put(name, reference, ctx.get('content-type') || undefined, content);
        notifier?.manifest(ctx, 'push', name, describe(stored.mediaType, stored.digest.digest, content), tagOf(reference));
        return stored;
      });
      ctx.status = 201;
      ctx.set('Location', location(ctx, options, repositoryPath(name, `manifests/${result.digest.digest}`)));
      ctx.set('Docker-Content-Digest', result.digest.digest);
      if (result.subject) ctx.set('OCI-Subject', result.subject.digest);
      emptyBody(ctx);
    },

    async delete(ctx: Context): Promise<void> {
      requireDeleteEnabled(options.deleteEnabled);
      const name = nameParam(ctx);
      proxy?.refuseWrite(proxyRoute(ctx, proxy, name));
      const reference = stringParam(ctx, 'reference');
      if (reference.includes(':')) {
        const digest = parseDigest(reference);
        const tags = notifier ? await registry.tags.pointingTo(name, digest) : [];
        await registry.manifests.delete(name, digest);
        // registry:2 tells of the revision, then of every tag that went with it.
        notifier?.emit(ctx, 'delete', { digest: digest.digest, repository: name });
        for (const tag of tags) notifier?.emit(ctx, 'delete', { repository: name, tag });
      } else {
        await registry.manifests.deleteTag(name, reference);
        notifier?.emit(ctx, 'delete', { repository: name, tag: reference });
      }
      ctx.status = 202;
      emptyBody(ctx);
    },
  };
}

function describe(mediaType: string, digest: string, content: Buffer): { mediaType: string; digest: string; size: number } {
  return { mediaType, digest, size: content.length };
}

/** The tag a reference names, undefined for a digest. */
function tagOf(reference: string): string | undefined {
  return reference.includes(':') ? undefined : reference;
}

export function unknownRepository(name: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', undefined, { name });
}

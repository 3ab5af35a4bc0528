// Direct HTTP reads of the registry (Node's fetch), to check what a client pushed independently of
// the client itself: which digest a tag points to, and the exact bytes of a blob.
import type { Endpoint } from './world.js';
import type { RegistryUnderTest } from './registry-under-test.js';
import { MEDIA_TYPES } from '../../helpers/oci-image.js';

const MANIFEST_ACCEPT = [
  MEDIA_TYPES.manifest,
  MEDIA_TYPES.index,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface RegistryApi {
  /** Docker-Content-Digest of `HEAD manifests/<ref>`, or undefined on 404. */
  manifestDigest(repo: string, ref: string): Promise<string | undefined>;
  manifest(repo: string, ref: string): Promise<{ digest: string; mediaType: string; body: Buffer }>;
  blob(repo: string, digest: string): Promise<Buffer>;
  tags(repo: string): Promise<string[]>;
}

export function registryApi(endpoint: Endpoint, registry: RegistryUnderTest): RegistryApi {
  const authorization = `Basic ${Buffer.from(`${registry.user}:${registry.password}`).toString('base64')}`;
  const call = async (method: string, path: string, accept?: string): Promise<Response> =>
    fetch(`${endpoint.url}${path}`, {
      method,
      headers: { authorization, ...(accept ? { accept } : {}) },
      signal: AbortSignal.timeout(60_000),
    });
  const expectOk = async (response: Response, what: string): Promise<Response> => {
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
    return response;
  };
  return {
    async manifestDigest(repo, ref) {
      const response = await call('HEAD', `/v2/${repo}/manifests/${ref}`, MANIFEST_ACCEPT);
      if (response.status === 404) return undefined;
      await expectOk(response, `HEAD ${repo}:${ref}`);
      return response.headers.get('docker-content-digest') ?? undefined;
    },
    async manifest(repo, ref) {
      const response = await expectOk(await call('GET', `/v2/${repo}/manifests/${ref}`, MANIFEST_ACCEPT), `GET ${repo}:${ref}`);
      return {
        digest: response.headers.get('docker-content-digest') ?? '',
        mediaType: response.headers.get('content-type') ?? '',
        body: Buffer.from(await response.arrayBuffer()),
      };
    },
    async blob(repo, digest) {
      const response = await expectOk(await call('GET', `/v2/${repo}/blobs/${digest}`), `GET blob ${repo}@${digest}`);
      return Buffer.from(await response.arrayBuffer());
    },
    async tags(repo) {
      const response = await expectOk(await call('GET', `/v2/${repo}/tags/list`), `GET tags of ${repo}`);
      const body = (await response.json()) as { tags?: string[] | null };
      return body.tags ?? [];
    },
  };
}

// Direct HTTP reads of the registry, to check what a client pushed independently of the client
// itself: which digest a tag points to, and the exact bytes of a blob. Over the tests' one
// registry client (test/helpers/storage-http.ts), with the registry's credentials.
import type { Endpoint } from './world.js';
import type { RegistryUnderTest } from './registry-under-test.js';
import { expectStatus, RegistryClient } from '../../helpers/storage-http.js';

export interface RegistryApi {
  /** Docker-Content-Digest of `HEAD manifests/<ref>`, or undefined on 404. */
  manifestDigest(repo: string, ref: string): Promise<string | undefined>;
  manifest(repo: string, ref: string): Promise<{ digest: string; mediaType: string; body: Buffer }>;
  blob(repo: string, digest: string): Promise<Buffer>;
  tags(repo: string): Promise<string[]>;
}

export function registryApi(endpoint: Endpoint, registry: RegistryUnderTest): RegistryApi {
  const authorization = `Basic ${Buffer.from(`${registry.user}:${registry.password}`).toString('base64')}`;
  const client = new RegistryClient(endpoint.url, { authorization });
  return {
    async manifestDigest(repo, ref) {
      const response = await client.getManifest(repo, ref, 'HEAD');
      if (response.status === 404) return undefined;
      expectStatus(response, 200, `HEAD ${repo}:${ref}`);
      return response.header('docker-content-digest') || undefined;
    },
    async manifest(repo, ref) {
      const response = await client.getManifest(repo, ref);
      expectStatus(response, 200, `GET ${repo}:${ref}`);
      return { digest: response.header('docker-content-digest'), mediaType: response.header('content-type'), body: response.body };
    },
    async blob(repo, digest) {
      const response = await client.getBlob(repo, digest);
      expectStatus(response, 200, `GET blob ${repo}@${digest}`);
      return response.body;
    },
    tags: (repo) => client.tags(repo),
  };
}

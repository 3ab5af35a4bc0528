// Just enough of the OCI distribution protocol, spoken over HTTP, to push and pull blobs the way
// clients do: POST an upload, PATCH the bytes, PUT ?digest=, then GET the blob.
import { sha256 } from '../../helpers/digest.js';
import { request, type TestRequestOptions, type TestResponse } from './http-client.js';

export interface ClientOptions {
  basicAuth?: { user: string; password: string };
  headers?: Record<string, string>;
  localAddress?: string;
  /** Send the PATCH body chunked (no Content-Length), as docker does. */
  chunked?: boolean;
}

export { sha256 as sha256Digest } from '../../helpers/digest.js';

/** Where to send the next request: the Location's path and query on the server we talk to. */
export function follow(baseUrl: string, location: string): string {
  const resolved = new URL(location, baseUrl);
  return new URL(resolved.pathname + resolved.search, baseUrl).toString();
}

export interface PushResult {
  digest: string;
  /** Every Location header the server sent, as sent. */
  locations: string[];
  final: TestResponse;
}

/** POST + PATCH (whole body) + PUT ?digest=, as skopeo and docker do. Throws on any unexpected status. */
export async function pushBlob(baseUrl: string, name: string, data: Buffer, options: ClientOptions = {}): Promise<PushResult> {
  const common: TestRequestOptions = { basicAuth: options.basicAuth, localAddress: options.localAddress };
  const digest = sha256(data);
  const started = await request(`${baseUrl}/v2/${name}/blobs/uploads/`, {
    ...common,
    method: 'POST',
    headers: { ...options.headers, 'content-length': '0' },
  });
  expectStatus(started, 202, 'POST upload');
  const locations = [String(started.headers.location)];
  const patched = await request(follow(baseUrl, locations[0]!), {
    ...common,
    method: 'PATCH',
    headers: {
      ...options.headers,
      'content-type': 'application/octet-stream',
      ...(options.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(data.length) }),
    },
    body: data,
  });
  expectStatus(patched, 202, 'PATCH upload');
  locations.push(String(patched.headers.location));
  const next = new URL(follow(baseUrl, locations[1]!));
  next.searchParams.set('digest', digest);
  const final = await request(next.toString(), {
    ...common,
    method: 'PUT',
    headers: { ...options.headers, 'content-length': '0' },
  });
  expectStatus(final, 201, 'PUT upload');
  locations.push(String(final.headers.location));
  return { digest, locations, final };
}

export async function getBlob(baseUrl: string, name: string, digest: string, options: ClientOptions = {}): Promise<TestResponse> {
  return request(`${baseUrl}/v2/${name}/blobs/${digest}`, {
    basicAuth: options.basicAuth,
    localAddress: options.localAddress,
    headers: options.headers,
  });
}

function expectStatus(response: TestResponse, status: number, what: string): void {
  if (response.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${response.status}: ${response.text.slice(0, 500)}`);
  }
}

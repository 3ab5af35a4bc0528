// A plain node:http client for the storage tests. Paths are sent exactly as given (no URL
// normalisation, so `..`, `%2e%2e` and `%2F` reach the server as a hostile client would send
// them), bodies may be streams, and every response is read whole.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { sha256 } from './digest.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = unknown>(): T;
  /** A single header as a string ('' when absent). */
  header(name: string): string;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  timeoutMs?: number;
  /** Source address, e.g. 127.0.0.2 to look like another client on loopback. */
  localAddress?: string;
}

export { sha256 };

/** Sends one request to `baseUrl` with `path` as the raw request target. */
export function send(baseUrl: string, path: string, options: SendOptions = {}): Promise<HttpResponse> {
  const base = new URL(baseUrl);
  const headers: Record<string, string> = { ...options.headers };
  const body = options.body;
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && !hasHeader(headers, 'content-length') && !hasHeader(headers, 'transfer-encoding')) {
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port || undefined,
        path,
        method: options.method ?? 'GET',
        headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve(toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
      },
    );
    req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`${options.method ?? 'GET'} ${path} timed out`)));
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function toResponse(status: number, headers: IncomingHttpHeaders, body: Buffer): HttpResponse {
  const text = body.toString('utf8');
  return {
    status,
    headers,
    body,
    text,
    json: <T>() => JSON.parse(text) as T,
    header: (name) => {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value ?? '';
    },
  };
}

/** The path and query of a Location header (absolute or relative), to send the next request to. */
export function locationPath(location: string): string {
  const url = new URL(location, 'http://placeholder');
  return url.pathname + url.search;
}

/** `path` with `key=value` added to its query. */
export function withQuery(path: string, key: string, value: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** An `Authorization: Basic` header for RegistryClient's extra headers. */
export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export interface ClientOptions {
  /** Source address of every request, e.g. 127.0.0.2 to look like another client on loopback. */
  localAddress?: string;
}

export interface UploadResult {
  digest: string;
  /** Every Location header the server sent (POST, PATCH, PUT), as sent. */
  locations: string[];
  /** The answer to the final PUT. */
  final: HttpResponse;
}

/** The registry operations tests repeat, over `send`; each throws with the answer on a surprise. */
export class RegistryClient {
  constructor(
    public baseUrl: string,
    private readonly extraHeaders: Record<string, string> = {},
    private readonly options: ClientOptions = {},
  ) {}

  send(path: string, options: SendOptions = {}): Promise<HttpResponse> {
    const headers = { ...this.extraHeaders, ...options.headers };
    return send(this.baseUrl, path, { localAddress: this.options.localAddress, ...options, headers });
  }

  /**
   * POST `?digest=` with the whole blob (a monolithic upload). A registry without single-POST
   * uploads (registry:2) answers 202 with a session instead: the blob then goes in one PUT, as
   * the spec tells clients to do.
   */
  async pushBlob(name: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const headers = { 'content-type': 'application/octet-stream' };
    const res = await this.send(`/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers, body: data });
    if (res.status === 202) {
      const put = await this.send(withQuery(locationPath(res.header('location')), 'digest', digest), { method: 'PUT', headers, body: data });
      expectStatus(put, 201, `PUT upload to ${name}`);
      return digest;
    }
    expectStatus(res, 201, `monolithic upload to ${name}`);
    return digest;
  }

  /** POST, one PATCH with the whole blob, PUT `?digest=` (what skopeo and docker do). */
  async pushBlobStreamed(name: string, data: Buffer): Promise<string> {
    return (await this.uploadBlob(name, data)).digest;
  }

  /**
   * POST, one PATCH with the whole blob (`chunked`: without Content-Length, as docker sends it),
   * PUT `?digest=`; returns every Location the server sent and the final answer.
   */
  async uploadBlob(name: string, data: Buffer, { chunked = false } = {}): Promise<UploadResult> {
    const digest = sha256(data);
    const started = await this.send(`/v2/${name}/blobs/uploads/`, { method: 'POST' });
    expectStatus(started, 202, `POST upload to ${name}`);
    const locations = [started.header('location')];
    const patched = await this.send(locationPath(locations[0]!), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', ...(chunked ? { 'transfer-encoding': 'chunked' } : {}) },
      body: data,
    });
    expectStatus(patched, 202, `PATCH to ${name}`);
    locations.push(patched.header('location'));
    const final = await this.send(withQuery(locationPath(locations[1]!), 'digest', digest), { method: 'PUT' });
    expectStatus(final, 201, `PUT upload to ${name}`);
    locations.push(final.header('location'));
    return { digest, locations, final };
  }

  /** POST a new upload session; returns the path to send its chunks to. */
  async startUpload(name: string): Promise<string> {
    const res = await this.send(`/v2/${name}/blobs/uploads/`, { method: 'POST' });
    expectStatus(res, 202, `POST upload to ${name}`);
    return locationPath(res.header('location'));
  }

  async putManifest(name: string, reference: string, body: Buffer | string, mediaType: string): Promise<HttpResponse> {
    return await this.send(`/v2/${name}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body,
    });
  }

  /** PUT a manifest that must be accepted; returns its digest. */
  async pushManifest(name: string, reference: string, body: Buffer | string, mediaType: string): Promise<string> {
    const res = await this.putManifest(name, reference, body, mediaType);
    expectStatus(res, 201, `PUT manifest ${name}:${reference}`);
    return res.header('docker-content-digest');
  }

  getManifest(name: string, reference: string, method = 'GET'): Promise<HttpResponse> {
    return this.send(`/v2/${name}/manifests/${reference}`, { method, headers: { accept: MANIFEST_ACCEPT } });
  }

  getBlob(name: string, digest: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpResponse> {
    return this.send(`/v2/${name}/blobs/${digest}`, { method, headers });
  }

  async tags(name: string): Promise<string[]> {
    const res = await this.send(`/v2/${name}/tags/list`);
    expectStatus(res, 200, `tags of ${name}`);
    return res.json<{ tags: string[] | null }>().tags ?? [];
  }

  async catalog(): Promise<string[]> {
    const res = await this.send('/v2/_catalog');
    expectStatus(res, 200, 'catalog');
    return res.json<{ repositories: string[] }>().repositories;
  }
}

export function expectStatus(res: HttpResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
}

// Single signed S3 requests on one object, without the SDK's middleware stack. A small-image push
// makes about 33 S3 requests, most of them HEADs and PUTs of a few hundred bytes; through
// @aws-sdk/client-s3 each cost ~2.4 ms of CPU more than the request itself (the SDK clones its
// multi-hundred-field config several times per request, resolves endpoint rules, builds a user
// agent...), which made the storage process, not the object store, the bottleneck of pushes
// (docs/scaling.md). The SDK stays the source of truth: it resolves the endpoint (URL, path or
// virtual-host style, signing region) and the credentials (its whole provider chain, refreshed
// as it refreshes them) and its SigV4 signer (@smithy/signature-v4) signs, with UNSIGNED-PAYLOAD
// as the SDK does over https; this only builds and sends the request. Multipart uploads, listings, bulk deletes, reads of blobs and presigned URLs still
// go through the SDK.
import type { Agent as HttpAgent, IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';

export interface S3Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An S3 error as the SDK shapes it (`name` = S3's error code, `$metadata.httpStatusCode`). */
export class S3RequestError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

interface Endpoint {
  secure: boolean;
  hostname: string;
  port: string;
  host: string;
  /** Path before the key: `/bucket/` (path style) or `/` (virtual-host style). */
  prefix: string;
  /** The SDK's own SigV4 signer, with the SDK's credentials, region and sha256. */
  signer: SignatureV4;
}

const MAX_ATTEMPTS = 3;
const RETRY_CODES = new Set(['SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'RequestTimeTooSkewed']);
const RETRY_ERRNOS = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN']);

export class S3Requester {
  private endpoint: Promise<Endpoint> | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly agents: { http: HttpAgent; https: HttpsAgent },
  ) {}

  /**
   * One request on object `key`: `headers` are S3's (lower case), `body` a whole buffer.
   * Idempotent requests only (they are retried on a dropped connection, 5xx and SlowDown).
   * Answers of 300 and above are thrown as S3RequestError.
   */
  async send(method: 'GET' | 'HEAD' | 'PUT' | 'DELETE', key: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<S3Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.once(method, key, headers, body);
        if (response.status < 300) return response;
        throw responseError(method, response);
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !retryable(err)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  private async once(method: string, key: string, extra: Record<string, string>, body?: Uint8Array): Promise<S3Response> {
    const endpoint = await (this.endpoint ??= this.resolveEndpoint());
    const path = endpoint.prefix + encodePath(key);
    const unsigned: Record<string, string> = { ...extra, host: endpoint.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    if (body !== undefined || method === 'PUT') unsigned['content-length'] = String(body?.length ?? 0);
    const { headers } = await endpoint.signer.sign({
      method,
      protocol: endpoint.secure ? 'https:' : 'http:',
      hostname: endpoint.hostname,
      port: Number(endpoint.port),
      path,
      query: {},
      headers: unsigned,
    });
    const send = endpoint.secure ? httpsRequest : httpRequest;
    return await new Promise<S3Response>((resolve, reject) => {
      const req = send(
        {
          hostname: endpoint.hostname,
          port: endpoint.port,
          method,
          path,
          headers,
          agent: endpoint.secure ? this.agents.https : this.agents.http,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Where the SDK would send a request on this bucket, read from a URL it presigns (so its
   * endpoint rules decide: custom endpoint, path or virtual-host style, the signing region).
   */
  private async resolveEndpoint(): Promise<Endpoint> {
    try {
      const probe = 'registry-endpoint-probe';
      const url = new URL(await getSignedUrl(this.client, new HeadObjectCommand({ Bucket: this.bucket, Key: probe }), { expiresIn: 60 }));
      const [, , region, service] = (url.searchParams.get('X-Amz-Credential') ?? '').split('/');
      if (!url.pathname.endsWith(`/${probe}`) || !region || !service) throw new Error(`unexpected presigned URL shape: ${url.origin}${url.pathname}`);
      const secure = url.protocol === 'https:';
      return {
        secure,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (secure ? '443' : '80'),
        host: url.host,
        prefix: url.pathname.slice(0, -probe.length),
        // S3 paths are escaped once (encodePath), not twice as other services' are.
        signer: new SignatureV4({ credentials: this.client.config.credentials, region, service, sha256: this.client.config.sha256, uriEscapePath: false }),
      };
    } catch (err) {
      this.endpoint = undefined; // try again on the next request
      throw err;
    }
  }
}

/** S3's canonical URI: every byte but unreserved ones and `/` percent-encoded, once. */
function encodePath(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function responseError(method: string, response: S3Response): S3RequestError {
  const text = response.body.toString('utf8');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? (response.status === 404 ? 'NotFound' : `Http${response.status}`);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `${method} answered ${response.status}`;
  return new S3RequestError(code, response.status, message);
}

function retryable(err: unknown): boolean {
  if (err instanceof S3RequestError) return err.$metadata.httpStatusCode >= 500 || RETRY_CODES.has(err.name);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && RETRY_ERRNOS.has(code);
}

/** A CopyObject can fail after its 200 status: the error is then in the body (AWS documents this). */
export function copyFailed(response: S3Response): S3RequestError | undefined {
  const text = response.body.toString('utf8');
  if (text.includes('<CopyObjectResult')) return undefined;
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'InternalError';
  return new S3RequestError(code, 500, /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? 'copy failed');
}

// What a blob download through the gateway must look like however the bytes got there (relayed
// by storage, sent from a handed-off file, fetched from a handed-off URL): storage's status and
// headers, the exact bytes, a byte range, and none of the internal hop headers.
import type { ExecutionContext } from 'ava';
import { request } from './http-client.js';

export interface BlobDownloadCheck {
  /** Sent with both requests (a client's attempt to name a file or URL itself, say). */
  headers?: Record<string, string>;
  /** The last byte of the range asked for, from byte 1000. */
  rangeEnd: number;
  /** Headers between storage and the gateway that must not reach the client. */
  internalHeaders: string[];
}

export async function expectBlobDownload(t: ExecutionContext, url: string, blob: Buffer, digest: string, check: BlobDownloadCheck): Promise<void> {
  const headers = check.headers ?? {};
  const whole = await request(url, { headers });
  t.is(whole.status, 200);
  t.true(whole.body.equals(blob), 'the whole blob, byte for byte');
  t.is(whole.headers['content-length'], String(blob.length));
  t.is(whole.headers['docker-content-digest'], digest);
  t.is(whole.headers['content-type'], 'application/octet-stream');
  t.is(whole.headers['docker-distribution-api-version'], 'registry/2.0');
  for (const name of check.internalHeaders) t.is(whole.headers[name], undefined, `internal header ${name} never reaches the client`);

  const part = await request(url, { headers: { ...headers, range: `bytes=1000-${check.rangeEnd}` } });
  t.is(part.status, 206);
  t.is(part.headers['content-range'], `bytes 1000-${check.rangeEnd}/${blob.length}`);
  t.true(part.body.equals(blob.subarray(1000, check.rangeEnd + 1)));
}

// Checks every storage answer shares: the API version header, and for errors an OCI JSON body
// `{"errors":[{"code","message","detail"}]}` with the expected status and code.
import type { ExecutionContext } from 'ava';
import type { HttpResponse } from './storage-http.js';

interface ErrorBody {
  errors: Array<{ code: string; message: string; detail?: unknown }>;
}

export function assertApiVersion(t: ExecutionContext, res: HttpResponse): void {
  t.is(res.header('docker-distribution-api-version'), 'registry/2.0', `API version header on ${res.status}`);
}

/** Asserts an OCI error answer; returns its first error for further checks. */
export function assertOciError(
  t: ExecutionContext,
  res: HttpResponse,
  status: number,
  code: string,
  what = '',
): ErrorBody['errors'][number] {
  const label = what ? `${what}: ` : '';
  t.is(res.status, status, `${label}status (body ${res.text.slice(0, 300)})`);
  assertApiVersion(t, res);
  t.regex(res.header('content-type'), /^application\/json/, `${label}JSON error body`);
  let body: ErrorBody | undefined;
  try {
    body = res.json<ErrorBody>();
  } catch {
    t.fail(`${label}error body is not JSON: ${res.text.slice(0, 300)}`);
  }
  const first = body?.errors?.[0];
  t.truthy(first, `${label}errors[0] present`);
  t.is(first?.code, code, `${label}error code`);
  t.is(typeof first?.message, 'string', `${label}error message`);
  t.true('detail' in (first ?? {}), `${label}error detail key`);
  return first ?? { code: '', message: '' };
}

// The one way both processes write an OCI error, exactly as registry:2 does (distribution's
// errcode.ServeJSON): `application/json; charset=utf-8`, the body as JSON with a trailing newline
// (Go's json.Encoder), the error's status and extra headers.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Context } from 'koa';
import type { RegistryError } from './errors.js';

export const ERROR_CONTENT_TYPE = 'application/json; charset=utf-8';

function payload(error: RegistryError): string {
  return JSON.stringify(error.toBody()) + '\n';
}

export function respondWithRegistryError(ctx: Pick<Context, 'status' | 'type' | 'body' | 'set'>, error: RegistryError): void {
  ctx.status = error.status;
  ctx.set(error.headers);
  ctx.type = ERROR_CONTENT_TYPE;
  ctx.body = payload(error);
}

/**
 * The same answer written straight to Node's response, for the one place Koa no longer writes it:
 * a proxied exchange (ctx.respond = false) that the gateway must cut short. Returns the body bytes
 * written.
 */
export function writeRegistryError(res: ServerResponse, error: RegistryError, options: { closeConnection?: boolean } = {}): number {
  const body = payload(error);
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', ERROR_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  if (options.closeConnection) res.setHeader('Connection', 'close');
  const sent = res.req?.method === 'HEAD' ? undefined : body;
  res.end(sent);
  return sent === undefined ? 0 : Buffer.byteLength(sent);
}

/**
 * The same answer as raw HTTP/1.1 bytes, for a connection that has no response object: a request
 * Node could not parse. The connection closes after it.
 */
export function rawErrorResponse(error: RegistryError): string {
  const body = payload(error);
  const headers: Record<string, string> = {
    ...error.headers,
    'Content-Type': ERROR_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${lines.join('')}\r\n${body}`;
}

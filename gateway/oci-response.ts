// Responses the gateway writes itself, shaped like registry:2's (distribution's errcode.ServeJSON:
// JSON with a trailing newline, `application/json; charset=utf-8`).
import type { ServerResponse } from 'node:http';
import { ERROR_CODES, errorBody, type ErrorCode } from '../common/errors.js';
import type { GatewayContext } from './state.js';

export interface OciErrorOptions {
  message?: string;
  detail?: unknown;
  /** Defaults to the code's registered status. */
  status?: number;
  headers?: Record<string, string>;
}

export function respondWithError(ctx: GatewayContext, code: ErrorCode, options: OciErrorOptions = {}): void {
  ctx.status = options.status ?? ERROR_CODES[code].status;
  for (const [name, value] of Object.entries(options.headers ?? {})) ctx.set(name, value);
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(errorBody(code, options.message, options.detail)) + '\n';
}

/**
 * The same error body written straight to the Node response, for when Koa no longer handles it
 * (the proxy set ctx.respond = false). Headers already set on `res` (standard ones) are kept.
 * Returns the body bytes written.
 */
export function writeRawError(
  res: ServerResponse,
  code: ErrorCode,
  options: Omit<OciErrorOptions, 'headers'> & { closeConnection?: boolean } = {},
): number {
  const body = JSON.stringify(errorBody(code, options.message, options.detail)) + '\n';
  res.statusCode = options.status ?? ERROR_CODES[code].status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  if (options.closeConnection) res.setHeader('Connection', 'close');
  const sent = res.req?.method === 'HEAD' ? undefined : body;
  res.end(sent);
  return sent === undefined ? 0 : Buffer.byteLength(sent);
}

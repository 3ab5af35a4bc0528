// Errors the gateway answers itself (auth, routing, storage unreachable), written like storage's.
import type { ServerResponse } from 'node:http';
import { respondWithRegistryError, writeRegistryError } from '../common/error-response.js';
import { RegistryError, type ErrorCode } from '../common/errors.js';
import type { GatewayContext } from './state.js';

export interface OciErrorOptions {
  message?: string;
  detail?: unknown;
  /** Defaults to the code's registered status. */
  status?: number;
  headers?: Record<string, string>;
}

function registryError(code: ErrorCode, options: OciErrorOptions): RegistryError {
  return new RegistryError(code, options.message, options.detail, { status: options.status, headers: options.headers });
}

export function respondWithError(ctx: GatewayContext, code: ErrorCode, options: OciErrorOptions = {}): void {
  respondWithRegistryError(ctx, registryError(code, options));
}

/** For a proxied exchange Koa no longer writes (see proxy.ts): the same answer, straight to `res`. */
export function writeRawError(res: ServerResponse, code: ErrorCode, options: OciErrorOptions & { closeConnection?: boolean } = {}): number {
  return writeRegistryError(res, registryError(code, options), { closeConnection: options.closeConnection });
}

// Errors the gateway answers itself (auth, routing, storage unreachable), written like storage's.
import { respondWithRegistryError } from '../common/error-response.js';
import { RegistryError, type ErrorCode } from '../common/errors.js';
import type { GatewayContext } from './state.js';

export interface OciErrorOptions {
  message?: string;
  detail?: unknown;
  /** Defaults to the code's registered status. */
  status?: number;
  headers?: Record<string, string>;
}

export function respondWithError(ctx: GatewayContext, code: ErrorCode, options: OciErrorOptions = {}): void {
  respondWithRegistryError(ctx, new RegistryError(code, options.message, options.detail, { status: options.status, headers: options.headers }));
}

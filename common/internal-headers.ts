// Headers on the hop from gateway to storage. The gateway strips any client-supplied copy of
// these before adding its own; storage believes them only because nobody else can reach it
// (loopback/unix socket, or the internal token when it listens on a network).
export const INTERNAL_TOKEN_HEADER = 'x-registry-internal-token';
export const INTERNAL_USER_HEADER = 'x-registry-user';

/**
 * The user name as it goes into INTERNAL_USER_HEADER: percent-encoded (UTF-8), because a header
 * value carries only bytes up to 0xFF and Node refuses anything else (ERR_INVALID_CHAR), while an
 * htpasswd user name may hold any character.
 */
export function encodeUserHeader(user: string): string {
  return encodeURIComponent(user);
}

/** The user name back out of INTERNAL_USER_HEADER; a value that does not decode is kept as it came. */
export function decodeUserHeader(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
export const REQUEST_ID_HEADER = 'x-request-id';
/**
 * The client's address as registry:2 reports it in notifications: `ip:port` of a client that
 * connected directly, the forwarded address (no port) of one behind a trusted proxy.
 */
export const CLIENT_ADDR_HEADER = 'x-registry-client-addr';
/** External scheme and host the client used, so storage builds correct absolute `Location`s. */
export const EXTERNAL_PROTO_HEADER = 'x-forwarded-proto';
export const EXTERNAL_HOST_HEADER = 'x-forwarded-host';

/**
 * File handoff (the X-Accel-Redirect pattern), a capability storage offers when its driver keeps
 * files on this machine. The gateway asks for it; on `GET /v2/` storage then names the directory
 * it allows the gateway to read, and answers a blob download with the blob's file and byte range
 * instead of the bytes, and the gateway sends the file itself. Relaying through a second Node
 * process cost more CPU than the transfer (see gateway/file-handoff.ts).
 */
export const FILE_HANDOFF_REQUEST_HEADER = 'x-registry-file-handoff';
/** Storage's answer on `GET /v2/`: the absolute directory every handed-off file is under. */
export const FILE_HANDOFF_ROOT_HEADER = 'x-registry-file-root';
/** Storage's answer on a blob download: the blob file's absolute path… */
export const FILE_HANDOFF_PATH_HEADER = 'x-registry-file';
/**
 * URL handoff, the same for a driver that can sign a URL for a blob (S3): the gateway asks for it
 * on every blob download, and storage answers with a short-lived URL to fetch the bytes from
 * instead of the bytes (see gateway/url-handoff.ts).
 */
export const URL_HANDOFF_REQUEST_HEADER = 'x-registry-url-handoff';
/** Storage's answer on a blob download: the URL the blob's bytes are fetched from. */
export const URL_HANDOFF_HEADER = 'x-registry-url';
/** With either handoff: the inclusive byte range `start-end` to send (absent for an empty blob). */
export const HANDOFF_RANGE_HEADER = 'x-registry-handoff-range';

export const INTERNAL_HEADERS = [
  INTERNAL_TOKEN_HEADER,
  INTERNAL_USER_HEADER,
  FILE_HANDOFF_REQUEST_HEADER,
  URL_HANDOFF_REQUEST_HEADER,
  CLIENT_ADDR_HEADER,
] as const;

/**
 * Storage's own paths beside the /v2 API, for the gateway only (the internal token applies):
 * its health (driver answering, data directory writable; 503 while it drains) and its metrics
 * (Prometheus text, when `http.debug.prometheus.enabled`), which the gateway serves with its own.
 */
export const STORAGE_HEALTH_PATH = '/_registry/health';
export const STORAGE_METRICS_PATH = '/_registry/metrics';
/** Web UI sessions logged out (`/<id>`): PUT records one until it expires, GET says whether it is. */
export const STORAGE_LOGGED_OUT_PATH = '/_registry/ui-sessions/logged-out';

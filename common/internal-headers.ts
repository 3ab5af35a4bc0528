// Headers on the hop from gateway to storage. The gateway strips any client-supplied copy of
// these before adding its own; storage believes them only because nobody else can reach it
// (loopback/unix socket, or the internal token when it listens on a network).
export const INTERNAL_TOKEN_HEADER = 'x-registry-internal-token';
export const INTERNAL_USER_HEADER = 'x-registry-user';
export const REQUEST_ID_HEADER = 'x-request-id';
/** External scheme and host the client used, so storage builds correct absolute `Location`s. */
export const EXTERNAL_PROTO_HEADER = 'x-forwarded-proto';
export const EXTERNAL_HOST_HEADER = 'x-forwarded-host';

export const INTERNAL_HEADERS = [INTERNAL_TOKEN_HEADER, INTERNAL_USER_HEADER] as const;

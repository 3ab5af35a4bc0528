// The largest manifest the registry accepts: the OCI spec's minimum a registry must take (4 MiB).
// The gateway refuses bigger ones before storage sees them; storage refuses them too, for clients
// that reach it otherwise (tests, a future replica).
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

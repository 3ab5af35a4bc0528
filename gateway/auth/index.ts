// The gateway's authentication module: what the gateway and the CLI import.
export type { AuthResult, Authenticator } from './authenticator.js';
export {
  createHtpasswdAuthenticator,
  type HtpasswdAuthenticator,
  type HtpasswdAuthenticatorOptions,
  type HtpasswdAuthStats,
} from './htpasswd-authenticator.js';
export type { LoginThrottleOptions } from './login-throttle.js';
export type { CredentialCacheOptions } from './credential-cache.js';
export { hashPassword, verifyPassword, detectHashFormat, isInsecureFormat, type HashFormat, type NewHashFormat } from './password-hash.js';
export { parseHtpasswd, type HtpasswdEntry, type HtpasswdProblem, type ParsedHtpasswd } from './htpasswd-file.js';
export { setUser, removeUser, listUsers, assertValidUserName } from './htpasswd-edit.js';
export { writeHtpasswdFile } from './htpasswd-write.js';

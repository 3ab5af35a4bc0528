// Repository name and tag grammars from the OCI distribution spec, shared by both processes.
import { RegistryError } from './errors.js';

// <name> = path-component ("/" path-component)*, path-component = [a-z0-9]+ (separator [a-z0-9]+)*
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** registry:2 caps the whole name at 255 characters. */
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function assertName(name: string): void {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', 'invalid repository name', { name });
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function assertTag(tag: string): void {
  if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', 'invalid tag', { tag });
}

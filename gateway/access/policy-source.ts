// Where the gateway gets its access policy: the policy file, followed like the htpasswd file
// (auth/watched-file.ts: a content change applies to the next request; a broken or unreadable
// file keeps the last good policy and logs why), or the policy inline in config.yml (fixed).
// At start-up a broken policy is an error that names the line.
import { readFile } from 'node:fs/promises';
import type { AccessConfig } from '../../common/config/types.js';
import type { Logger } from '../../common/logger.js';
import { logAvailability, WatchedFile } from '../auth/watched-file.js';
import { AccessPolicy } from './access-policy.js';
import { parsePolicyText, PolicyError, readPolicyDocument } from './policy-document.js';

export interface PolicySource {
  /** The policy in force; the file is looked at first unless it was looked at a moment ago. */
  current(): Promise<AccessPolicy>;
  /** The policy file, or `inline in <config.yml>`: for logs. */
  readonly description: string;
  /** Times a changed file was loaded (not counting broken versions). */
  reloads(): number;
  close(): Promise<void>;
}

export interface PolicySourceOptions {
  logger: Logger;
  /** How often the file is checked for changes (default 1000 ms). */
  reloadIntervalMs?: number;
}

/** Reads the policy once (throwing PolicyError or a file error) and, for a file, follows it. */
export async function openPolicySource(access: AccessConfig, options: PolicySourceOptions): Promise<PolicySource> {
  const { logger } = options;
  if ('inline' in access) {
    const policy = await readAccessPolicy(access);
    const description = describeAccessConfig(access);
    logLoaded(logger, policy, description, 'access policy loaded');
    return { current: async () => policy, description, reloads: () => 0, close: async () => {} };
  }

  const { path } = access;
  let policy: AccessPolicy | undefined;
  let reloads = 0;
  let watched: WatchedFile;
  try {
    watched = await WatchedFile.open(path, {
      intervalMs: options.reloadIntervalMs ?? 1000,
      onChange: (text) => {
        let next: AccessPolicy;
        try {
          next = new AccessPolicy(parsePolicyText(text, path));
        } catch (error) {
          if (!(error instanceof PolicyError)) throw error;
          logger.error({ path, problems: error.problems }, `access policy: the changed file is invalid; keeping the last good policy: ${error.problems.join('; ')}`);
          return;
        }
        policy = next;
        reloads++;
        logLoaded(logger, next, path, 'access policy: file changed, policy reloaded');
      },
      ...logAvailability(logger, path, 'access policy', 'policy'),
    });
  } catch (error) {
    throw fileError(path, error);
  }
  try {
    policy = new AccessPolicy(parsePolicyText(watched.text, path));
  } catch (error) {
    await watched.close();
    throw error;
  }
  logLoaded(logger, policy, path, 'access policy loaded');
  const initial = policy;
  return {
    async current() {
      await watched.refreshIfStale();
      return policy ?? initial;
    },
    description: path,
    reloads: () => reloads,
    close: () => watched.close(),
  };
}

/** The policy as configured right now, read once (`registry access check`, `registry config check`). */
export async function readAccessPolicy(access: AccessConfig): Promise<AccessPolicy> {
  if ('inline' in access) return new AccessPolicy(readPolicyDocument(access.inline, describeAccessConfig(access)));
  let text: string;
  try {
    text = await readFile(access.path, 'utf8');
  } catch (error) {
    throw fileError(access.path, error);
  }
  return new AccessPolicy(parsePolicyText(text, access.path));
}

/** The policy file, or `inline in /etc/registry/config.yml`. */
export function describeAccessConfig(access: AccessConfig): string {
  if ('path' in access) return access.path;
  const origin = access.inline.origin;
  return `inline in ${origin.kind === 'file' ? origin.file : 'the configuration'}`;
}

function fileError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new Error(`access policy file not found: ${path}`, { cause: error });
  return new Error(`cannot read access policy file ${path}: ${(error as Error).message}`, { cause: error });
}

function logLoaded(logger: Logger, policy: AccessPolicy, source: string, message: string): void {
  for (const warning of policy.warnings) logger.warn({ source }, `access policy: ${warning}`);
  logger.info({ source, rules: policy.ruleCount }, message);
}

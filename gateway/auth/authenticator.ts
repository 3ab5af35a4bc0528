// The contract between the gateway's front door and whatever checks credentials.

export type AuthResult =
  | { ok: true; user: string }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface Authenticator {
  /**
   * Checks a user and password sent with HTTP Basic auth by the client at `clientAddress`
   * (the real client address, after trusted-proxy resolution).
   */
  authenticate(user: string, password: string, clientAddress: string): Promise<AuthResult>;
  /**
   * A short value that changes when the user's password changes and is undefined once the user is
   * gone: a web UI session (gateway/ui/session.ts) remembers it and ends when it changes.
   */
  accountStamp?(user: string): string | undefined;
  /** Stops file watchers and timers. */
  close(): Promise<void>;
}

/**
 * Counts every check's result (registry_auth_logins_total) around any Authenticator. Everything
 * else passes through: a lost `accountStamp` would keep web sessions alive after a password change.
 */
export function countingLogins(authenticator: Authenticator, count: (result: 'accepted' | 'refused' | 'throttled') => void): Authenticator {
  return {
    ...(authenticator.accountStamp && { accountStamp: (user: string) => authenticator.accountStamp?.(user) }),
    async authenticate(user, password, clientAddress) {
      const result = await authenticator.authenticate(user, password, clientAddress);
      count(result.ok ? 'accepted' : result.reason === 'throttled' ? 'throttled' : 'refused');
      return result;
    },
    close: () => authenticator.close(),
  };
}

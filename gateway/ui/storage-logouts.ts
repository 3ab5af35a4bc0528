// Logouts kept by storage (storage/logged-out-sessions.ts), so every gateway replica, and this one
// after a restart, refuses a logged-out session's cookie.
import { randomUUID } from 'node:crypto';
import { STORAGE_LOGGED_OUT_PATH } from '../../common/internal-headers.js';
import type { Upstream } from '../upstream.js';
import { getFromUpstream, putToUpstream } from '../upstream-request.js';
import type { SharedLogouts } from './session.js';

export function storageLogouts(upstream: Upstream, internalToken: string | undefined): SharedLogouts {
  const request = (id: string) => ({ path: `${STORAGE_LOGGED_OUT_PATH}/${id}`, internalToken, requestId: randomUUID(), timeoutMs: 10_000 });
  return {
    async record(id, expiresAt) {
      const answer = await putToUpstream(upstream, request(id), String(expiresAt));
      if (answer.status !== 204) throw new Error(`storage answered ${answer.status} to a logout`);
    },
    async has(id) {
      const answer = await getFromUpstream(upstream, request(id));
      if (answer.status === 200) return true;
      if (answer.status === 404) return false;
      throw new Error(`storage answered ${answer.status} about a logout`);
    },
  };
}

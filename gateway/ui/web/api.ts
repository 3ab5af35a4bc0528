// The UI's requests: the registry's own /v2 API and the gateway's /ui/api, same origin, with the
// session cookie, the UI marker (no browser login dialog on a 401) and the anti-CSRF token.

import type { SessionInfo } from '../../../common/ui-types.js';

export type { RepositoryDetail, RepositorySummary, SessionInfo, TagSummary } from '../../../common/ui-types.js';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const session: SessionInfo = readBoot();

function readBoot(): SessionInfo {
  const el = document.getElementById('boot');
  try {
    return JSON.parse(el?.textContent ?? '') as SessionInfo;
  } catch {
    return { authEnabled: false, user: null, csrf: null, deleteEnabled: false, anonymousBrowsing: false };
  }
}

/** Called when a request says the session is over (401): the app shows the login page. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('X-Registry-UI', '1');
  if (session.csrf) headers.set('X-Registry-CSRF', session.csrf);
  const response = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401 && session.authEnabled) onUnauthorized();
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  return response;
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: Array<{ code?: string; message?: string }> };
    const first = body.errors?.[0];
    if (first) return `${first.code ?? response.status}: ${first.message ?? ''}`;
  } catch {
    // not an OCI error body
  }
  return `${response.status} ${response.statusText}`;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<{ body: T; response: Response }> {
  const response = await request(path, init);
  return { body: (await response.json()) as T, response };
}

/** A repository name in a path: each component encoded, the slashes kept. */
export function namePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** The `last` of a `Link: <...?last=x&n=y>; rel="next"` header. */
export function nextLast(response: Response): string | undefined {
  const link = response.headers.get('Link');
  const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  if (!match) return undefined;
  return new URL(match[1]!, location.origin).searchParams.get('last') ?? undefined;
}

export async function login(username: string, password: string): Promise<void> {
  const response = await fetch('/ui/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Registry-UI': '1' },
    body: JSON.stringify({ username, password }),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    if (response.status === 429) throw new ApiError(429, `Too many failed logins: try again in ${response.headers.get('Retry-After') ?? 'a'} seconds.`);
    if (response.status === 401) throw new ApiError(401, 'Wrong user name or password.');
    throw new ApiError(response.status, await errorMessage(response));
  }
  const body = (await response.json()) as { user: string; csrf: string };
  session.user = body.user;
  session.csrf = body.csrf;
}

export async function logout(): Promise<void> {
  await request('/ui/api/logout', { method: 'POST' }).catch(() => undefined);
  session.user = null;
  session.csrf = null;
}

export async function mayDelete(repository: string): Promise<boolean> {
  if (!session.deleteEnabled) return false;
  const { body } = await getJson<{ delete: boolean }>(`/ui/api/permissions?repository=${encodeURIComponent(repository)}`);
  return body.delete;
}

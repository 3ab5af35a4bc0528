// Requests to one upstream registry of the pull-through cache, with its credentials: HTTP Basic,
// or the Docker token flow (a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`: a
// token is fetched from the realm, with the credentials when there are any, and kept until it
// expires). Uses Node's fetch (undici); a cross-origin redirect (Docker Hub's blob CDN) does not
// carry the Authorization header.
import type { ProxyRemote } from '../../common/config/proxy.js';

const TOKEN_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;
/** A manifest request that gets no answer in this long counts as the upstream being down. */
export const UPSTREAM_TIMEOUT_MS = 30_000;

interface Token {
  value: string;
  expiresAt: number;
}

/** The upstream answered in a way that is not the client's fault and not an answer (5xx, network error, timeout). */
export class UpstreamUnavailable extends Error {}

export class Upstream {
  private readonly tokens = new Map<string, Token>();
  /** Counters for whoever wants to export them: requests sent, tokens fetched, failures. */
  readonly counters = { requests: 0, tokens: 0, failures: 0 };

  constructor(readonly remote: ProxyRemote) {}

  /**
   * `method` on `/v2/<name>/<suffix>` of the upstream; `pull` scope for `name`. Network errors and
   * 5xx are UpstreamUnavailable; every other answer (200, 404, 401 after the flow) is returned.
   */
  async request(method: 'GET' | 'HEAD', name: string, suffix: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const url = `${this.remote.remoteurl}/v2/${name}/${suffix}`;
    const scope = `repository:${name}:pull`;
    let res = await this.send(method, url, { ...headers, ...this.authorization(scope) }, signal);
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel().catch(() => undefined);
      const retryAuth = await this.answerChallenge(challenge, scope, signal);
      if (retryAuth !== undefined) res = await this.send(method, url, { ...headers, authorization: retryAuth }, signal);
    }
    if (res.status >= 500) {
      await res.body?.cancel().catch(() => undefined);
      this.counters.failures++;
      throw new UpstreamUnavailable(`${this.remote.remoteurl} answered ${res.status}`);
    }
    return res;
  }

  private async send(method: string, url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    this.counters.requests++;
    try {
      return await fetch(url, { method, headers, signal: signal ?? AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
    } catch (err) {
      this.counters.failures++;
      if (signal?.aborted && signal.reason instanceof Error && signal.reason.name !== 'TimeoutError') throw err;
      throw new UpstreamUnavailable(`${this.remote.remoteurl} unreachable: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
  }

  private basic(): string | undefined {
    const { username, password } = this.remote;
    if (username === undefined) return undefined;
    return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private authorization(scope: string): Record<string, string> {
    const token = this.tokens.get(scope);
    if (token && token.expiresAt > Date.now()) return { authorization: `Bearer ${token.value}` };
    return {};
  }

  private async answerChallenge(challenge: string, scope: string, signal?: AbortSignal): Promise<string | undefined> {
    const scheme = challenge.trim().split(/\s+/, 1)[0]?.toLowerCase();
    if (scheme === 'basic') return this.basic();
    if (scheme !== 'bearer') return undefined;
    const params = parseChallenge(challenge);
    if (!params.realm) return undefined;
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', params.scope ?? scope);
    const basic = this.basic();
    this.counters.tokens++;
    let res: Response;
    try {
      res = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {}, signal: signal ?? AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
    } catch (err) {
      this.counters.failures++;
      throw new UpstreamUnavailable(`token service ${tokenUrl.origin} unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 500) throw new UpstreamUnavailable(`token service ${tokenUrl.origin} answered ${res.status}`);
      return undefined; // refused: the retry-less 401 goes back to the caller
    }
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string; expires_in?: number };
    const value = body.token ?? body.access_token;
    if (typeof value !== 'string' || value === '') return undefined;
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    this.tokens.set(scope, { value, expiresAt: Date.now() + lifetime * 1000 - TOKEN_MARGIN_MS });
    if (this.tokens.size > 10_000) this.tokens.clear(); // one per repository: bounded
    return `Bearer ${value}`;
  }
}

/** `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="…"` -> its parameters. */
export function parseChallenge(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  const rest = header.trim().replace(/^\S+\s*/, '');
  const pattern = /([A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let match = pattern.exec(rest); match; match = pattern.exec(rest)) {
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  return params;
}

// Who the client really is and which scheme/host it used, believing forwarded headers
// (`X-Forwarded-For/-Proto/-Host`, `X-Real-IP`, RFC 7239 `Forwarded`) only when they come from a
// trusted proxy, hop by hop from the connection outwards, stopping at the first address that is
// not a trusted proxy (as proxy-addr does): whatever lies beyond it was written by the client.
import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import parseForwarded from 'forwarded-parse';
import { normalizeAddress, type TrustFunction } from './trust.js';

export type Proto = 'http' | 'https';

export interface ClientInfo {
  /** The real client address. */
  address: string;
  /** Whether the directly connected peer is a trusted proxy. */
  peerTrusted: boolean;
  proto: Proto;
  host: string;
}

export interface ConnectionFacts {
  peerAddress: string;
  encrypted: boolean;
  headers: IncomingHttpHeaders;
}

/** One hop as a proxy reported it: who its client was, and the scheme/host that client used. */
interface Hop {
  for?: string;
  proto?: string;
  host?: string;
}

export function resolveClient(conn: ConnectionFacts, trust: TrustFunction, externalBase?: URL): ClientInfo {
  const peer = normalizeAddress(conn.peerAddress);
  const peerTrusted = trust(peer, 0);
  let address = peer;
  let proto: Proto = conn.encrypted ? 'https' : 'http';
  let host = firstValue(conn.headers.host) ?? '';

  if (peerTrusted) {
    const hops = forwardedHops(conn.headers);
    let reported: Hop = {};
    // Walk from the nearest proxy's report outwards while the reporter is trusted.
    for (let i = hops.length - 1, n = 0; i >= 0; i--, n++) {
      const hop = hops[i]!;
      reported = { proto: hop.proto ?? reported.proto, host: hop.host ?? reported.host };
      const hopAddress = hop.for === undefined ? undefined : addressOf(hop.for);
      if (hopAddress === undefined) break;
      address = hopAddress;
      if (!trust(hopAddress, n + 1)) break;
    }
    const reportedProto = reported.proto?.toLowerCase();
    if (reportedProto === 'http' || reportedProto === 'https') proto = reportedProto;
    if (reported.host !== undefined && isPlausibleHost(reported.host)) host = reported.host;
  }

  if (externalBase) {
    proto = externalBase.protocol === 'https:' ? 'https' : 'http';
    host = externalBase.host;
  }
  return { address, peerTrusted, proto, host };
}

/**
 * The hops the proxies reported, client first, from the header a proxy in front of us writes:
 * X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, HAProxy, Traefik, Envoy, load balancers;
 * the only one proxy-addr, Express and Koa read), else X-Real-IP. RFC 7239 `Forwarded` is read
 * only when there is neither: a proxy that writes X-Forwarded-For passes a client's own
 * `Forwarded` on untouched, and preferring it let any client choose its address (issue 7).
 * A proxy that writes only `Forwarded` must drop the client's X-Forwarded-For and X-Real-IP.
 * X-Forwarded-Proto/-Host go with the nearest hop; their last value is what the nearest proxy
 * wrote (a proxy that appends puts its value last; one that sets leaves only its own).
 */
function forwardedHops(headers: IncomingHttpHeaders): Hop[] {
  const fors = listValues(headers['x-forwarded-for']);
  if (fors.length === 0) {
    const realIp = firstValue(headers['x-real-ip'])?.trim();
    if (realIp) fors.push(realIp);
  }
  const forwarded = firstValue(headers.forwarded);
  if (fors.length === 0 && forwarded) {
    try {
      return parseForwarded(forwarded).map((element) => ({
        for: element.for,
        proto: element.proto,
        host: element.host,
      }));
    } catch {
      // A malformed Forwarded header is ignored as a whole.
    }
  }
  const proto = listValues(headers['x-forwarded-proto']).at(-1);
  const host = listValues(headers['x-forwarded-host']).at(-1);
  if (fors.length === 0) return proto || host ? [{ proto, host }] : [];
  return fors.map((value, index) => (index === fors.length - 1 ? { for: value, proto, host } : { for: value }));
}

/** An IP out of `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:4711` or `2001:db8::1`; undefined for `unknown`/`_hidden`. */
function addressOf(value: string): string | undefined {
  let candidate = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(candidate);
  if (bracketed) candidate = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(candidate)) candidate = candidate.slice(0, candidate.lastIndexOf(':'));
  return isIP(candidate) ? normalizeAddress(candidate) : undefined;
}

function isPlausibleHost(host: string): boolean {
  return /^[A-Za-z0-9._~-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(host);
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function listValues(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : value ?? '';
  return joined
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

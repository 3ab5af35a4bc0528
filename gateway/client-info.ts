// Who the client really is and which scheme/host it used, believing forwarded headers
// (RFC 7239 `Forwarded`, `X-Forwarded-For/-Proto/-Host`, `X-Real-IP`) only when they come
// from a trusted proxy, hop by hop from the connection outwards (as proxy-addr does).
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
 * The hops the proxies reported, client first. RFC 7239 `Forwarded` wins when present and valid:
 * each element carries its own for/proto/host. Otherwise X-Forwarded-For (or X-Real-IP); the
 * first X-Forwarded-Proto/-Host value (as Express and Koa read them) goes with the nearest hop,
 * since the trusted peer set or passed it, whatever the client put in X-Forwarded-For.
 */
function forwardedHops(headers: IncomingHttpHeaders): Hop[] {
  const forwarded = firstValue(headers.forwarded);
  if (forwarded) {
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
  const fors = listValues(headers['x-forwarded-for']);
  if (fors.length === 0) {
    const realIp = firstValue(headers['x-real-ip'])?.trim();
    if (realIp) fors.push(realIp);
  }
  const proto = listValues(headers['x-forwarded-proto'])[0];
  const host = listValues(headers['x-forwarded-host'])[0];
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

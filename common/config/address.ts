// Listen addresses as the configuration writes them: `:5000`, `host:5000`, `[::1]:5000`,
// `unix:/path/to.sock`. Shared by the loader (validation), the processes (listen) and the
// CLI (waiting for a process to answer).
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

export type ListenAddress =
  /** `host` is '' for "all interfaces" (`:5000`); IPv6 hosts are stored without brackets. */
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

export const ADDRESS_FORMS = '":5000", "host:5000", "[::1]:5000" or "unix:/path/to.sock"';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses an address; throws an Error whose message says what is accepted. */
export function parseListenAddress(addr: string): ListenAddress {
  if (addr.startsWith('unix:')) {
    const path = addr.slice('unix:'.length);
    if (path === '') throw new Error(`expected ${ADDRESS_FORMS}, got "unix:" without a path`);
    return { kind: 'unix', path };
  }
  const colon = addr.lastIndexOf(':');
  if (colon < 0) throw new Error(`expected ${ADDRESS_FORMS}, got "${addr}" (no port)`);
  let host = addr.slice(0, colon);
  const portText = addr.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`expected ${ADDRESS_FORMS}, got "${addr}" (the port must be a number from 0 to 65535)`);
  }
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (!isIPv6(host)) throw new Error(`expected ${ADDRESS_FORMS}, got "${addr}" ("${host}" is not an IPv6 address)`);
  } else if (host.includes(':')) {
    throw new Error(`expected ${ADDRESS_FORMS}, got "${addr}" (write IPv6 addresses in brackets, e.g. "[::1]:5000")`);
  } else if (host !== '' && !isIPv4(host) && !HOSTNAME.test(host)) {
    throw new Error(`expected ${ADDRESS_FORMS}, got "${addr}" ("${host}" is not a host name or IP address)`);
  }
  return { kind: 'tcp', host, port: Number(portText) };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** True when only this machine can connect: 127.0.0.0/8, ::1, localhost or a unix socket. */
export function isLoopbackAddress(address: ListenAddress): boolean {
  if (address.kind === 'unix') return true;
  const host = address.host.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return LOOPBACK.check(host, 'ipv4');
  if (isIPv6(host)) return LOOPBACK.check(host, 'ipv6');
  return false;
}

/** Writes an address back in configuration form (`[::1]:5000`, `:5000`, `unix:/x.sock`). */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return `${isIPv6(address.host) ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Where a client on this machine connects to reach a listener (all-interfaces -> loopback). */
export function connectTarget(address: ListenAddress): { socketPath: string } | { host: string; port: number } {
  if (address.kind === 'unix') return { socketPath: address.path };
  const wildcard = address.host === '' || address.host === '0.0.0.0' || address.host === '::';
  const host = wildcard ? (address.host === '::' ? '::1' : '127.0.0.1') : address.host;
  return { host, port: address.port };
}

/** How a listener is shown to people: `http://0.0.0.0:5000`, `unix:/run/x.sock`. */
export function displayUrl(address: ListenAddress, scheme: 'http' | 'https'): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host === '' ? '0.0.0.0' : isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

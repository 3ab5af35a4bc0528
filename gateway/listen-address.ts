// registry:2's `http.addr` forms: `:5000` (every interface), `host:port`, `[::1]:port`.

export interface ListenAddress {
  /** Undefined means every interface (Node then listens on `::` and IPv4 too). */
  host?: string;
  port: number;
}

export function parseListenAddress(addr: string, setting = 'http.addr'): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new Error(`${setting}: ${JSON.stringify(addr)} is not ":port", "host:port" or "[ipv6]:port"`);
  }
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

/** `http://127.0.0.1:5000`, `https://[::1]:443`: the URL of a listening socket. */
export function urlOf(scheme: 'http' | 'https', address: { address: string; port: number; family: string }): string {
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

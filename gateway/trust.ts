// Which peers' forwarded headers we believe: `http.trustedproxies` (IPs, CIDRs, or proxy-addr's
// names `loopback`, `linklocal`, `uniquelocal`). Nothing is trusted by default.
import proxyAddr from 'proxy-addr';

export type TrustFunction = (address: string, hop: number) => boolean;

export function compileTrust(trustedProxies: readonly string[]): TrustFunction {
  try {
    return proxyAddr.compile([...trustedProxies]);
  } catch (err) {
    throw new Error(`http.trustedproxies: ${(err as Error).message}`);
  }
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so logs and throttling see one spelling per client. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

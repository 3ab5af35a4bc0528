// Which client addresses count as one for login throttling. An IPv4 address is one client; an
// IPv6 client usually owns a whole /64 (SLAAC, privacy addresses), so counting single IPv6
// addresses would give anyone 2^64 fresh addresses to guess from.
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The key a client address is counted under: the IPv4 address itself, or the IPv6 /64. */
export function throttleBucketOf(address: string): string {
  const withoutZone = address.replace(/%.*$/, '');
  if (!isIPv6(withoutZone)) return address;
  const parsed = ipaddr.IPv6.parse(withoutZone);
  if (parsed.isIPv4MappedAddress()) return parsed.toIPv4Address().toString();
  return `${parsed.parts.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

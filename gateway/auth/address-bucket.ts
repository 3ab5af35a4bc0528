// Which client addresses count as one for login throttling. An IPv4 address is one client; an
// IPv6 client usually owns a whole /64 (SLAAC, privacy addresses), so counting single IPv6
// addresses would give anyone 2^64 fresh addresses to guess from.
import { isIPv6 } from 'node:net';

/** Expands a valid IPv6 address (without zone) to its 8 groups of 16 bits. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const embeddedIPv4 = /([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(text);
  if (embeddedIPv4) {
    // ::ffff:1.2.3.4 and the like: the dotted quad is the last two groups.
    const [a, b, c, d] = embeddedIPv4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, embeddedIPv4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head = '', tail] = text.split('::');
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The key a client address is counted under: the IPv4 address itself, or the IPv6 /64. */
export function throttleBucketOf(address: string): string {
  const withoutZone = address.replace(/%.*$/, '');
  if (!isIPv6(withoutZone)) return address;
  const groups = ipv6Groups(withoutZone.toLowerCase());
  const isV4Mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (isV4Mapped) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

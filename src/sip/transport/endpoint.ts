import { isIP } from 'node:net';
import type { Endpoint } from './types.js';

/** Address family of an IP literal (brackets allowed), or undefined for a host name. */
export function familyOf(address: string): 4 | 6 | undefined {
  const kind = isIP(stripBrackets(address));
  return kind === 4 ? 4 : kind === 6 ? 6 : undefined;
}

/** `[2001:db8::1]` -> `2001:db8::1` (Via and URI hosts keep brackets; sockets want them off). */
export function stripBrackets(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d
    ? host.slice(1, -1)
    : host;
}

/**
 * Socket addresses as this layer reports them: IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack
 * socket reports for an IPv4 peer) becomes the plain IPv4 address, so `received=` and connection keys
 * compare equal whichever socket the packet came in on.
 */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && address.charCodeAt(0) === 0x3a) {
    const lower = address.toLowerCase();
    if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  }
  return address;
}

export function toEndpoint(address: string | undefined, port: number | undefined): Endpoint {
  return { address: normalizeAddress(address ?? ''), port: port ?? 0 };
}

/** Map key for a remote endpoint: `192.0.2.1:5060`, `[2001:db8::1]:5060`. */
export function endpointKey(address: string, port: number): string {
  const a = normalizeAddress(stripBrackets(address));
  return isIP(a) === 6 ? `[${a.toLowerCase()}]:${port}` : `${a}:${port}`;
}

/**
 * Whether a Via sent-by host names exactly this IP address (RFC 3261 §18.2.1 compares the
 * sent-by host with the packet source). IPv6 literals are compared in canonical form.
 */
export function sameIpAddress(host: string, address: string): boolean {
  const h = normalizeAddress(stripBrackets(host));
  if (h === address) return true;
  const fh = isIP(h);
  if (fh === 0 || fh !== isIP(address)) return false;
  if (fh === 4) return false; // dotted quads are written one way in practice
  return canonicalIpv6(h) === canonicalIpv6(address);
}

function canonicalIpv6(address: string): string {
  // WHATWG URL serialises IPv6 hosts in RFC 5952 canonical form.
  try {
    return new URL(`http://[${address}]/`).hostname;
  } catch {
    return address.toLowerCase();
  }
}

/** Wildcard bind addresses, which must not be advertised in Via/Contact as they are. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

import { BlockList, isIP } from 'node:net';

/**
 * The x5u URL policy (SSRF gate). The PASSporT `x5u` is attacker-chosen, so it is checked before any packet
 * leaves: scheme, port, URL shape, and every address the host name resolves to (fetch.ts resolves, checks
 * here, then connects only to the vetted address). ATIS-1000074 §5.3.1 / ATIS-1000080 §6.3.1 require an
 * HTTPS x5u; RFC 8226 §9 (and §11 security considerations) warn about dereferencing arbitrary URLs.
 */

export interface X5uPolicyOptions {
  /** Accept `http:` URLs (labs and tests only). ATIS-1000080 §6.3.1: x5u is HTTPS. */
  readonly allowHttp: boolean;
  /** Allowed ports (effective port, so an implicit 443 counts as 443), or 'any'. */
  readonly ports: readonly number[] | 'any';
  readonly allowUserinfo: boolean;
  readonly allowQuery: boolean;
  readonly allowFragment: boolean;
  /** CIDRs that are reachable even though they are special-purpose (e.g. '127.0.0.1/32' in tests). */
  readonly allowCidrs: readonly string[];
  /** CIDRs always refused; they win over allowCidrs. */
  readonly denyCidrs: readonly string[];
  /** Longest URL accepted, in characters. */
  readonly maxUrlLength: number;
}

export const DEFAULT_X5U_POLICY_OPTIONS: X5uPolicyOptions = Object.freeze({
  allowHttp: false,
  ports: Object.freeze([443, 8443]),
  allowUserinfo: false,
  allowQuery: false,
  allowFragment: false,
  allowCidrs: Object.freeze([]),
  denyCidrs: Object.freeze([]),
  maxUrlLength: 2048,
});

interface FamilyLists {
  readonly v4: BlockList;
  readonly v6: BlockList;
}

/** A compiled policy: options plus the block lists built once at boot. Create with `createX5uPolicy`. */
export interface X5uPolicy {
  readonly options: X5uPolicyOptions;
  readonly allow: FamilyLists;
  readonly deny: FamilyLists;
}

export type X5uUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * IANA IPv4 Special-Purpose Address Registry entries that are not globally reachable, plus multicast and
 * the limited broadcast address. (AS112 and AMT blocks are globally reachable and not listed.)
 */
const SPECIAL_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // RFC 791 "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 shared address space (CGNAT)
  ['127.0.0.0', 8], // RFC 1122 loopback
  ['169.254.0.0', 16], // RFC 3927 link-local
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // RFC 6890 IETF protocol assignments
  ['192.0.2.0', 24], // RFC 5737 TEST-NET-1
  ['192.88.99.0', 24], // RFC 7526 deprecated 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // RFC 2544 benchmarking
  ['198.51.100.0', 24], // RFC 5737 TEST-NET-2
  ['203.0.113.0', 24], // RFC 5737 TEST-NET-3
  ['224.0.0.0', 4], // RFC 5771 multicast
  ['240.0.0.0', 4], // RFC 1112 reserved (includes 255.255.255.255 limited broadcast, RFC 919)
];

/** IANA IPv6 Special-Purpose Address Registry entries that are not globally reachable, plus multicast. */
const SPECIAL_V6: readonly (readonly [string, number])[] = [
  ['::', 96], // RFC 4291 unspecified, loopback and deprecated IPv4-compatible addresses
  // ::ffff:0:0/96 IPv4-mapped: unwrapped and checked against the IPv4 rules instead (see normalise()).
  ['64:ff9b::', 96], // RFC 6052 NAT64 well-known prefix: would reach whatever IPv4 it embeds
  ['64:ff9b:1::', 48], // RFC 8215 local-use IPv4/IPv6 translation
  ['100::', 64], // RFC 6666 discard-only
  ['2001::', 23], // RFC 2928 IETF protocol assignments (Teredo, ORCHIDv2, benchmarking, ...)
  ['2001:db8::', 32], // RFC 3849 documentation
  ['2002::', 16], // RFC 3056 6to4: embeds an arbitrary IPv4 address
  ['3fff::', 20], // RFC 9637 documentation
  ['5f00::', 16], // RFC 9602 SRv6 SIDs
  ['fc00::', 7], // RFC 4193 unique local
  ['fe80::', 10], // RFC 4291 link-local
  ['fec0::', 10], // RFC 3879 deprecated site-local
  ['ff00::', 8], // RFC 4291 multicast
];

const SPECIAL: FamilyLists = (() => {
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const [a, p] of SPECIAL_V4) v4.addSubnet(a, p, 'ipv4');
  for (const [a, p] of SPECIAL_V6) v6.addSubnet(a, p, 'ipv6');
  return { v4, v6 };
})();

/**
 * Build per-family lists. Node's BlockList matches IPv4 addresses against IPv6 rules that cover
 * ::ffff:0:0/96 (e.g. '::/0'), so each family gets its own list and IPv4-mapped IPv6 is unwrapped first.
 */
function compileCidrs(cidrs: readonly string[], what: string): FamilyLists {
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const cidr of cidrs) {
    const slash = cidr.indexOf('/');
    const addr = slash < 0 ? cidr : cidr.slice(0, slash);
    const fam = isIP(addr);
    if (fam === 0) throw new TypeError(`${what}: not an IP CIDR: ${cidr}`);
    const max = fam === 4 ? 32 : 128;
    const prefix = slash < 0 ? max : Number(cidr.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new TypeError(`${what}: bad prefix length: ${cidr}`);
    }
    const n = normalise(addr);
    if (n === undefined) throw new TypeError(`${what}: not an IP CIDR: ${cidr}`);
    if (n.family === 4) {
      // An IPv4-mapped IPv6 CIDR ('::ffff:10.0.0.0/104') is the IPv4 CIDR it wraps.
      v4.addSubnet(n.address, fam === 6 ? Math.max(0, prefix - 96) : prefix, 'ipv4');
    } else {
      v6.addSubnet(n.address, prefix, 'ipv6');
    }
  }
  return { v4, v6 };
}

/** Compile a policy once (at boot); unknown CIDR syntax throws with the offending value. */
export function createX5uPolicy(options: Partial<X5uPolicyOptions> = {}): X5uPolicy {
  const opts: X5uPolicyOptions = Object.freeze({ ...DEFAULT_X5U_POLICY_OPTIONS, ...options });
  return Object.freeze({
    options: opts,
    allow: compileCidrs(opts.allowCidrs, 'allowCidrs'),
    deny: compileCidrs(opts.denyCidrs, 'denyCidrs'),
  });
}

const MAPPED_V4 = /^::ffff:(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** Lower-case, strip brackets and zone, unwrap IPv4-mapped IPv6 to IPv4. undefined when not an IP. */
function normalise(raw: string): { address: string; family: 4 | 6 } | undefined {
  let ip = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  // A zone id (fe80::1%eth0) only occurs on link-local addresses; keep the address part.
  const pct = ip.indexOf('%');
  if (pct >= 0) ip = ip.slice(0, pct);
  const fam = isIP(ip);
  if (fam === 4) return { address: ip, family: 4 };
  if (fam !== 6) return undefined;
  ip = ip.toLowerCase();
  // RFC 4291 §2.5.5.2: ::ffff:a.b.c.d and ::ffff:hhhh:hhhh (also the ::ffff:0:a.b.c.d SIIT form).
  const dotted = /^::ffff:(?:0:)?(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted?.[1] !== undefined && isIP(dotted[1]) === 4) return { address: dotted[1], family: 4 };
  const hex = MAPPED_V4.exec(ip);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 4 };
  }
  return { address: ip, family: 6 };
}

/**
 * True when a connection to `ip` is permitted: explicit deny wins, then explicit allow, then the IANA
 * special-purpose ranges are refused, everything else (globally reachable unicast) is allowed.
 */
export function checkAddress(ip: string, policy: X5uPolicy): boolean {
  const n = normalise(ip);
  if (n === undefined) return false;
  const type = n.family === 4 ? 'ipv4' : 'ipv6';
  const pick = (l: FamilyLists): BlockList => (n.family === 4 ? l.v4 : l.v6);
  if (pick(policy.deny).check(n.address, type)) return false;
  if (pick(policy.allow).check(n.address, type)) return true;
  return !pick(SPECIAL).check(n.address, type);
}

/**
 * Check the x5u string before any network activity. Pure: no DNS. When the host is an IP literal its
 * address is checked here; host names are checked after resolution by fetchX5u.
 */
export function checkX5uUrl(url: string, policy: X5uPolicy): X5uUrlCheck {
  const o = policy.options;
  if (url.length > o.maxUrlLength) return { ok: false, reason: 'url too long' };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  // ATIS-1000080 §6.3.1: the certificate repository is reached over HTTPS.
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && o.allowHttp)) {
    return { ok: false, reason: `scheme ${u.protocol} not allowed` };
  }
  if (!o.allowUserinfo && (u.username !== '' || u.password !== ''))
    return { ok: false, reason: 'userinfo not allowed' };
  // `new URL` drops an empty '?' or '#'; look at the raw text too.
  if (!o.allowQuery && (u.search !== '' || url.includes('?')))
    return { ok: false, reason: 'query not allowed' };
  if (!o.allowFragment && (u.hash !== '' || url.includes('#')))
    return { ok: false, reason: 'fragment not allowed' };
  if (u.hostname === '') return { ok: false, reason: 'no host' };
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  if (o.ports !== 'any' && !o.ports.includes(port)) return { ok: false, reason: `port ${port} not allowed` };
  const literal = normalise(u.hostname);
  if (literal !== undefined && !checkAddress(u.hostname, policy)) {
    return { ok: false, reason: `address ${literal.address} not allowed` };
  }
  return { ok: true, url: u };
}

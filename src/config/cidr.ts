import { isIPv4, isIPv6 } from 'node:net';

/**
 * CIDR blocks (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for IPv6) for trunk source matching and x5u address
 * policy. A bare address is a single-host block (/32, /128).
 */

export type IpFamily = 'ipv4' | 'ipv6';

export interface Cidr {
  readonly family: IpFamily;
  /** Network address as written (host bits are zero). */
  readonly address: string;
  readonly prefix: number;
}

export type CidrResult =
  | { readonly ok: true; readonly cidr: Cidr }
  | { readonly ok: false; readonly reason: 'syntax' | 'prefix' | 'host_bits'; readonly network?: string };

/** Dotted quad -> unsigned 32-bit integer, or -1. Hand-rolled: this runs once per INVITE. */
export function ipv4ToInt(s: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // RFC 6943 §3.1.1: no leading zeros (ambiguous octal).
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255 || ++digits > 3) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** IPv6 text (already checked by `isIPv6`) -> eight 16-bit groups. */
function ipv6Groups(s: string): number[] {
  let text = s;
  const tail: number[] = [];
  if (text.includes('.')) {
    // RFC 4291 §2.2 form 3: the last 32 bits written as a dotted quad.
    const i = text.lastIndexOf(':');
    const n = ipv4ToInt(text.slice(i + 1));
    tail.push(n >>> 16, n & 0xffff);
    text = text.slice(0, i + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const fill = 8 - tail.length - left.length - right.length;
  return [...left, ...new Array<number>(rest === undefined ? 0 : fill).fill(0), ...right, ...tail];
}

function groupsToIpv6(g: readonly number[]): string {
  return g.map((x) => x.toString(16)).join(':');
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address. Refuses host bits set (`10.0.0.1/8`), with the network. */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const family: IpFamily | undefined = isIPv4(addr)
    ? 'ipv4'
    : isIPv6(addr) && !addr.includes('%')
      ? 'ipv6'
      : undefined;
  if (family === undefined) return { ok: false, reason: 'syntax' };
  const maxPrefix = family === 'ipv4' ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return { ok: false, reason: 'prefix' };
    prefix = Number(prefixText);
    if (prefix > maxPrefix) return { ok: false, reason: 'prefix' };
  }
  if (family === 'ipv4') {
    const n = ipv4ToInt(addr);
    if (n < 0) return { ok: false, reason: 'syntax' };
    const net = (n & maskOf(prefix)) >>> 0;
    if (net !== n) return { ok: false, reason: 'host_bits', network: `${intToIpv4(net)}/${prefix}` };
  } else {
    const g = ipv6Groups(addr);
    const masked = maskGroups(g, prefix);
    if (masked.some((x, i) => x !== g[i])) {
      return { ok: false, reason: 'host_bits', network: `${groupsToIpv6(masked)}/${prefix}` };
    }
  }
  return { ok: true, cidr: { family, address: addr, prefix } };
}

/** Message fragment for a refused CIDR, e.g. `"10.0.0.0/33" is not a valid CIDR`. */
export function describeCidrError(text: string, r: Extract<CidrResult, { ok: false }>): string {
  if (r.reason === 'host_bits')
    return `${JSON.stringify(text)} has host bits set (did you mean ${r.network}?)`;
  return `${JSON.stringify(text)} is not a valid CIDR`;
}

function maskGroups(g: readonly number[], prefix: number): number[] {
  return g.map((x, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16));
    return bits === 0 ? 0 : x & ((0xffff << (16 - bits)) & 0xffff);
  });
}

/**
 * Compiles trunk sources (CIDRs or addresses) into a predicate over a peer address as Node reports it
 * (`rinfo.address`, `socket.remoteAddress`). Integer masks for IPv4, 16-bit group masks for IPv6 (both far
 * cheaper than `net.BlockList.check`, which allocates per call). An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, dual-stack sockets) matches IPv4 blocks. Throws a `TypeError` on an invalid source
 * (config validation refuses those first).
 */
export function compileSourceMatcher(sources: readonly string[]): (ip: string) => boolean {
  const nets: number[] = [];
  const masks: number[] = [];
  const v6: { readonly net: readonly number[]; readonly prefix: number }[] = [];
  for (const s of sources) {
    const r = parseCidr(s);
    if (!r.ok) throw new TypeError(describeCidrError(s, r));
    if (r.cidr.family === 'ipv4') {
      nets.push(ipv4ToInt(r.cidr.address));
      masks.push(maskOf(r.cidr.prefix));
    } else {
      v6.push({ net: ipv6Groups(r.cidr.address), prefix: r.cidr.prefix });
    }
  }
  const count = nets.length;
  const matchV4 = (n: number): boolean => {
    for (let i = 0; i < count; i++) if ((n & masks[i]!) >>> 0 === nets[i]) return true;
    return false;
  };
  const matchV6 = (ip: string): boolean => {
    const zone = ip.indexOf('%');
    const addr = zone < 0 ? ip : ip.slice(0, zone);
    if (!isIPv6(addr)) return false;
    const g = ipv6Groups(addr);
    rules: for (const rule of v6) {
      for (let i = 0, left = rule.prefix; left > 0; i++, left -= 16) {
        const mask = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff;
        if ((g[i]! & mask) !== rule.net[i]) continue rules;
      }
      return true;
    }
    return false;
  };
  return (ip: string): boolean => {
    const n = ipv4ToInt(ip);
    if (n >= 0) return matchV4(n);
    if (ip.length > 7 && ip.charCodeAt(0) === 58 && /^::ffff:/i.test(ip)) {
      const m = ipv4ToInt(ip.slice(7));
      if (m >= 0) return matchV4(m);
    }
    return v6.length > 0 && matchV6(ip);
  };
}

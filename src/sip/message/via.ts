/**
 * Via (RFC 3261 §20.42, §25.1) with rport (RFC 3581 §3):
 *   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport   (SLASH = SWS "/" SWS)
 *   sent-by = host [ COLON port ]                                         (COLON = SWS ":" SWS)
 */
import { SipParseError } from './errors.js';
import { isTokenChar } from './headers.js';
import { formatParams, isWs, parseGenericParams, skipWs } from './params.js';
import type { Params, Via } from './types.js';

const SLASH = 0x2f;
const COLON = 0x3a;
const LBRACKET = 0x5b;

function badVia(value: string, why: string): SipParseError {
  const shown = value.length > 200 ? `${value.slice(0, 200)}...` : value;
  return new SipParseError('bad_via', `bad Via (${why}): ${shown}`);
}

function isHostChar(c: number): boolean {
  // hostname / IPv4address characters (RFC 3261 §25.1), plus "_" seen in the wild.
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    c === 0x2e ||
    c === 0x2d ||
    c === 0x5f
  );
}

/** Upper-cased transport; the common ones without allocating. */
function transportName(value: string, a: number, b: number): string {
  if (b - a === 3) {
    if (value.startsWith('UDP', a)) return 'UDP';
    if (value.startsWith('TCP', a)) return 'TCP';
    if (value.startsWith('TLS', a)) return 'TLS';
  }
  return value.slice(a, b).toUpperCase();
}

function token(value: string, p: number): number {
  const n = value.length;
  while (p < n && isTokenChar(value.charCodeAt(p))) p++;
  return p;
}

/** Parse one via-parm (one comma-separated element of a Via header). Throws SipParseError `bad_via`. */
export function parseVia(value: string): Via {
  const n = value.length;
  let p: number;
  let protocol: string;
  let transport: string;
  if (value.startsWith('SIP/2.0/')) {
    // The sent-protocol everybody sends, written without LWS.
    protocol = 'SIP/2.0';
    p = token(value, 8);
    if (p === 8) throw badVia(value, 'transport');
    transport = transportName(value, 8, p);
  } else {
    p = skipWs(value, 0);
    const a = p;
    p = token(value, p);
    if (p === a) throw badVia(value, 'protocol name');
    const nameEnd = p;
    p = skipWs(value, p);
    if (p >= n || value.charCodeAt(p) !== SLASH) throw badVia(value, 'expected "/"');
    p = skipWs(value, p + 1);
    const b = p;
    p = token(value, p);
    if (p === b) throw badVia(value, 'protocol version');
    const versionEnd = p;
    p = skipWs(value, p);
    if (p >= n || value.charCodeAt(p) !== SLASH) throw badVia(value, 'expected "/"');
    p = skipWs(value, p + 1);
    const t = p;
    p = token(value, p);
    if (p === t) throw badVia(value, 'transport');
    transport = transportName(value, t, p);
    const name = value.slice(a, nameEnd).toUpperCase();
    const version = value.slice(b, versionEnd);
    protocol = name === 'SIP' && version === '2.0' ? 'SIP/2.0' : `${name}/${version}`;
  }

  // LWS sent-by
  if (p >= n || !isWs(value.charCodeAt(p))) throw badVia(value, 'expected LWS before sent-by');
  p = skipWs(value, p);
  const hs = p;
  let upper = false;
  if (p < n && value.charCodeAt(p) === LBRACKET) {
    upper = true;
    const close = value.indexOf(']', p);
    if (close < 0) throw badVia(value, 'IPv6 reference');
    for (let j = p + 1; j < close; j++) {
      const c = value.charCodeAt(j) | 0x20;
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || c === 0x2e)) throw badVia(value, 'IPv6');
    }
    p = close + 1;
  } else {
    while (p < n) {
      const c = value.charCodeAt(p);
      if (!isHostChar(c)) break;
      if (c <= 0x5a && c >= 0x41) upper = true;
      p++;
    }
  }
  if (p === hs) throw badVia(value, 'empty sent-by host');
  const host = upper ? value.slice(hs, p).toLowerCase() : value.slice(hs, p);
  let port: number | undefined;
  const q = skipWs(value, p);
  if (q < n && value.charCodeAt(q) === COLON) {
    p = skipWs(value, q + 1);
    const ps = p;
    let v = 0;
    while (p < n) {
      const c = value.charCodeAt(p);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      p++;
    }
    if (p === ps || p - ps > 5 || v > 65535) throw badVia(value, 'port');
    port = v;
  }

  const params: Params = new Map();
  parseGenericParams(value, p, params, 'bad_via');
  const branch = params.get('branch');
  const received = params.get('received');
  let rport: number | null | undefined;
  if (params.has('rport')) {
    const r = params.get('rport');
    if (r === null || r === undefined) rport = null;
    else {
      // RFC 3581 §3: response-port = "rport" [EQUAL 1*DIGIT]
      if (!/^\d{1,5}$/.test(r) || Number(r) > 65535) throw badVia(value, 'rport');
      rport = Number(r);
    }
  }
  return {
    protocol,
    transport,
    host,
    port,
    params,
    branch: branch ?? undefined,
    received: received ?? undefined,
    rport,
  };
}

/**
 * Write one via-parm. Parameters come from `params` in order, but `branch`, `received` and `rport` take their
 * value from the Via's own fields (a field left undefined drops that parameter), and are appended when the map
 * lacks them, so both `{ ...via, received: ip }` and a hand-built map work.
 */
export function formatVia(v: Via): string {
  let s = `${v.protocol}/${v.transport} ${v.host}`;
  if (v.port !== undefined) s += `:${v.port}`;
  let sawBranch = false;
  let sawReceived = false;
  let sawRport = false;
  const rest: Params = new Map();
  for (const [k, val] of v.params) {
    if (k === 'branch') {
      sawBranch = true;
      if (v.branch !== undefined) rest.set(k, v.branch);
    } else if (k === 'received') {
      sawReceived = true;
      if (v.received !== undefined) rest.set(k, v.received);
    } else if (k === 'rport') {
      sawRport = true;
      if (v.rport !== undefined) rest.set(k, v.rport === null ? null : String(v.rport));
    } else rest.set(k, val);
  }
  if (!sawBranch && v.branch !== undefined) rest.set('branch', v.branch);
  if (!sawReceived && v.received !== undefined) rest.set('received', v.received);
  if (!sawRport && v.rport !== undefined) rest.set('rport', v.rport === null ? null : String(v.rport));
  return s + formatParams(rest);
}

/**
 * The top Via as a server transport rewrites it: `received` when the source address differs from sent-by
 * (RFC 3261 §18.2.1), and `rport` filled in with the source port when the client asked for it (RFC 3581 §4).
 */
export function withReceived(v: Via, sourceAddress: string, sourcePort: number): Via {
  const hostIp = v.host.charCodeAt(0) === LBRACKET ? v.host.slice(1, -1) : v.host;
  const needReceived = v.rport !== undefined || hostIp !== sourceAddress.toLowerCase();
  return {
    ...v,
    received: needReceived ? sourceAddress : v.received,
    rport: v.rport === undefined ? undefined : sourcePort,
  };
}

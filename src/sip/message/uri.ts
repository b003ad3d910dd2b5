/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966 §3) and the user-part helpers the B2BUA and STIR
 * glue need (3GPP TS 24.229 §7.2A.20 verstat).
 *
 * The parser is liberal about which printable characters appear where (real traffic carries `#` and `*` in
 * user parts) but refuses anything that would make the structure ambiguous: whitespace, control characters,
 * `<`, `>`, `"`, and non-ASCII octets (RFC 3261 §19.1.2: they must be %-escaped).
 */
import { SipParseError } from './errors.js';
import { formatParams, NO_PARAMS } from './params.js';
import type { Params, SipUri, TelUri, Uri } from './types.js';

const COLON = 0x3a;
const SEMI = 0x3b;
const QUESTION = 0x3f;
const EQUAL = 0x3d;
const LBRACKET = 0x5b;
const PERCENT = 0x25;

// 1 = may appear in a URI component (printable ASCII other than SP < > " \ and DEL).
const URIC = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) URIC[c] = 1;
for (const ch of '<>"\\') URIC[ch.charCodeAt(0)] = 0;

// RFC 3261 §25.1 hostname / IPv4address characters (we also allow `_`, seen in the wild).
const HOSTCH = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) HOSTCH[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOSTCH[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOSTCH[c] = 1;
HOSTCH[0x2d] = 1; // -
HOSTCH[0x2e] = 1; // .
HOSTCH[0x5f] = 1; // _

// RFC 3261 §25.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
const SCHEMECH = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) SCHEMECH[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) SCHEMECH[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) SCHEMECH[c] = 1;
SCHEMECH[0x2b] = 1;
SCHEMECH[0x2d] = 1;
SCHEMECH[0x2e] = 1;

// RFC 3966 §3 telephone-subscriber: digits, hex digits (local numbers), * # + and visual separators - . ( ).
const TELCH = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TELCH[c] = 1;
for (let c = 0x41; c <= 0x46; c++) TELCH[c] = 1;
for (let c = 0x61; c <= 0x66; c++) TELCH[c] = 1;
for (const ch of '*#+-.()') TELCH[ch.charCodeAt(0)] = 1;

function badUri(raw: string, why: string): SipParseError {
  return new SipParseError(
    'bad_uri',
    `bad URI (${why}): ${raw.length > 200 ? `${raw.slice(0, 200)}...` : raw}`,
  );
}

// biome-ignore format: keep the class readable
const NOT_URIC = /[\x00-\x20\x7f-\uffff"<>\\]/;

function isUric(c: number): boolean {
  return c < 128 && URIC[c] === 1;
}

/** Parse a URI: sip/sips (RFC 3261 §19.1.1), tel (RFC 3966), or any other absoluteURI kept verbatim. */
export function parseUri(raw: string): Uri {
  const n = raw.length;
  let i = 0;
  const c0 = n > 0 ? raw.charCodeAt(0) | 0x20 : 0;
  if (c0 < 0x61 || c0 > 0x7a) throw badUri(raw, 'scheme');
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c === COLON) break;
    if (c >= 128 || SCHEMECH[c] === 0) throw badUri(raw, 'scheme');
    i++;
  }
  if (i === n) throw badUri(raw, 'no scheme');
  // Cheap case-insensitive checks for the three schemes we model.
  if (i === 3 && c0 === 0x73 && (raw.charCodeAt(1) | 0x20) === 0x69 && (raw.charCodeAt(2) | 0x20) === 0x70) {
    return parseSipUri(raw, 'sip', 4);
  }
  if (
    i === 4 &&
    c0 === 0x73 &&
    (raw.charCodeAt(1) | 0x20) === 0x69 &&
    (raw.charCodeAt(2) | 0x20) === 0x70 &&
    (raw.charCodeAt(3) | 0x20) === 0x73
  ) {
    return parseSipUri(raw, 'sips', 5);
  }
  if (i === 3 && c0 === 0x74 && (raw.charCodeAt(1) | 0x20) === 0x65 && (raw.charCodeAt(2) | 0x20) === 0x6c) {
    return parseTelUri(raw, 4);
  }
  // RFC 3261 §25.1 absoluteURI: opaque; it only has to be one unbroken printable run.
  if (i + 1 >= n) throw badUri(raw, 'empty');
  for (let j = i + 1; j < n; j++) if (!isUric(raw.charCodeAt(j))) throw badUri(raw, 'character');
  return { scheme: raw.slice(0, i).toLowerCase(), raw };
}

function parseSipUri(raw: string, scheme: 'sip' | 'sips', start: number): SipUri {
  const n = raw.length;
  let user: string | undefined;
  let password: string | undefined;
  let p = start;
  // One native scan for characters no URI component may hold; after it only the host needs a closer look.
  if (NOT_URIC.test(raw)) throw badUri(raw, 'character');
  // RFC 3261 §25.1: neither uri-parameters nor headers may hold an unescaped "@", so the first one ends userinfo.
  const at = raw.indexOf('@', start);
  if (at >= 0) {
    let colon = raw.indexOf(':', start);
    if (colon > at) colon = -1;
    if (colon >= 0) {
      user = raw.slice(start, colon);
      password = raw.slice(colon + 1, at);
    } else {
      user = raw.slice(start, at);
    }
    if (user.length === 0) throw badUri(raw, 'empty user');
    p = at + 1;
  }

  // hostport
  const hs = p;
  let host: string;
  if (p < n && raw.charCodeAt(p) === LBRACKET) {
    // RFC 3261 §25.1 IPv6reference = "[" IPv6address "]"
    const close = raw.indexOf(']', p);
    if (close < 0 || close === p + 1) throw badUri(raw, 'IPv6 reference');
    for (let j = p + 1; j < close; j++) {
      const c = raw.charCodeAt(j) | 0x20;
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || c === 0x2e)) throw badUri(raw, 'IPv6');
    }
    p = close + 1;
    host = raw.slice(hs, p).toLowerCase();
  } else {
    let upper = false;
    while (p < n) {
      const c = raw.charCodeAt(p);
      if (c >= 128 || HOSTCH[c] === 0) break;
      if (c <= 0x5a && c >= 0x41) upper = true;
      p++;
    }
    if (p === hs) throw badUri(raw, 'empty host');
    host = upper ? raw.slice(hs, p).toLowerCase() : raw.slice(hs, p);
  }
  let port: number | undefined;
  if (p < n && raw.charCodeAt(p) === COLON) {
    p++;
    let v = 0;
    const ps = p;
    while (p < n) {
      const c = raw.charCodeAt(p);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      p++;
    }
    if (p === ps || p - ps > 5 || v > 65535) throw badUri(raw, 'port');
    port = v;
  }
  let params: Params = NO_PARAMS;
  if (p < n && raw.charCodeAt(p) === SEMI) {
    params = new Map();
    p = parseCheckedParams(raw, p, params);
  }
  let headers: string | undefined;
  if (p < n) {
    if (raw.charCodeAt(p) !== QUESTION) throw badUri(raw, 'after host');
    headers = raw.slice(p + 1);
  }
  return { scheme, user, password, host, port, params, headers, raw };
}

/**
 * `*( ";" pname [ "=" pvalue ] )` from `p` up to `?` or the end, in a string already checked by NOT_URIC;
 * returns the index after the last parameter.
 */
function parseCheckedParams(raw: string, p: number, params: Params): number {
  const n = raw.length;
  if (p >= n || raw.charCodeAt(p) !== SEMI) return p;
  let end = raw.indexOf('?', p);
  if (end < 0) end = n;
  while (p < end && raw.charCodeAt(p) === SEMI) {
    let next = raw.indexOf(';', p + 1);
    if (next < 0 || next > end) next = end;
    let eq = raw.indexOf('=', p + 1);
    if (eq >= next) eq = -1;
    const ne = eq < 0 ? next : eq;
    if (ne === p + 1) throw badUri(raw, 'empty parameter name');
    let upper = false;
    for (let i = p + 1; i < ne; i++) {
      const c = raw.charCodeAt(i);
      if (c <= 0x5a && c >= 0x41) upper = true;
    }
    const name = upper ? raw.slice(p + 1, ne).toLowerCase() : raw.slice(p + 1, ne);
    params.set(name, eq < 0 ? null : raw.slice(eq + 1, next));
    p = next;
  }
  return p;
}

/** `*( ";" pname [ "=" pvalue ] )` from `p`; returns the index after the last parameter. */
function parseUriParams(raw: string, p: number, params: Params): number {
  const n = raw.length;
  while (p < n && raw.charCodeAt(p) === SEMI) {
    const ns = ++p;
    let eq = -1;
    let upper = false;
    while (p < n) {
      const c = raw.charCodeAt(p);
      if (c === SEMI || c === QUESTION) break;
      if (c === EQUAL) {
        if (eq < 0) eq = p;
      } else if (c >= 128 || URIC[c] === 0) throw badUri(raw, 'parameter');
      else if (eq < 0 && c <= 0x5a && c >= 0x41) upper = true;
      p++;
    }
    const ne = eq < 0 ? p : eq;
    if (ne === ns) throw badUri(raw, 'empty parameter name');
    const name = upper ? raw.slice(ns, ne).toLowerCase() : raw.slice(ns, ne);
    params.set(name, eq < 0 ? null : raw.slice(eq + 1, p));
  }
  return p;
}

function parseTelUri(raw: string, start: number): TelUri {
  const n = raw.length;
  let p = start;
  while (p < n) {
    const c = raw.charCodeAt(p);
    if (c === SEMI) break;
    if (c >= 128 || TELCH[c] === 0) throw badUri(raw, 'telephone-subscriber');
    p++;
  }
  if (p === start) throw badUri(raw, 'empty number');
  const number = raw.slice(start, p);
  const params: Params = new Map();
  p = parseUriParams(raw, p, params);
  // RFC 3966 has no "?headers"; a "?" here is malformed.
  if (p < n) throw badUri(raw, 'after number');
  return { scheme: 'tel', number, params, raw };
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Undo RFC 3261 §19.1.2 %HH escaping. Each escape becomes the octet it names, in the same one-char-per-octet
 * (latin1) form as header text; a `%` not followed by two hex digits is kept literally (RFC 4475 §3.1.1.5).
 */
export function unescapeUriPart(s: string): string {
  let i = s.indexOf('%');
  if (i < 0) return s;
  let out = s.slice(0, i);
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === PERCENT && i + 2 < n) {
      const hi = hexVal(s.charCodeAt(i + 1));
      const lo = hexVal(s.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out += String.fromCharCode(hi * 16 + lo);
        i += 3;
        continue;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

/** Write a URI from its fields (`raw` is used only for schemes we do not model). */
export function formatUri(uri: Uri): string {
  if (isSipUri(uri)) {
    let s = `${uri.scheme}:`;
    if (uri.user !== undefined) {
      s += uri.user;
      if (uri.password !== undefined) s += `:${uri.password}`;
      s += '@';
    }
    s += uri.host;
    if (uri.port !== undefined) s += `:${uri.port}`;
    s += formatParams(uri.params);
    if (uri.headers !== undefined) s += `?${uri.headers}`;
    return s;
  }
  if (isTelUri(uri)) return `tel:${uri.number}${formatParams(uri.params)}`;
  return uri.raw;
}

export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

export function isTelUri(uri: Uri): uri is TelUri {
  return uri.scheme === 'tel';
}

/**
 * The telephone number a URI carries: the user part of a sip/sips URI without user-part parameters,
 * %-unescaped (`+1-202-555-1234` from `sip:+1-202-555-1234;verstat=X@host;user=phone`), or a tel URI's number.
 * Visual separators are kept; normalising for STIR comparison (RFC 8224 §8.3) is the caller's job.
 */
export function uriUserNumber(uri: Uri): string | undefined {
  if (isSipUri(uri)) {
    const u = uri.user;
    if (u === undefined) return undefined;
    const semi = u.indexOf(';');
    return unescapeUriPart(semi < 0 ? u : u.slice(0, semi));
  }
  if (isTelUri(uri)) return uri.number;
  return undefined;
}

/** Parameters in a sip/sips user part (`+1555;verstat=TN-Validation-Passed;npdi`), names lower-cased. */
export function userParams(uri: SipUri): Params {
  const params: Params = new Map();
  const u = uri.user;
  if (u === undefined) return params;
  const semi = u.indexOf(';');
  if (semi < 0) return params;
  for (const part of u.slice(semi + 1).split(';')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    params.set((eq < 0 ? part : part.slice(0, eq)).toLowerCase(), eq < 0 ? null : part.slice(eq + 1));
  }
  return params;
}

function withUserParams(uri: Uri, edit: (params: Params) => void): Uri {
  if (isSipUri(uri)) {
    const u = uri.user;
    if (u === undefined) return uri; // no user part to carry the parameter
    const semi = u.indexOf(';');
    const base = semi < 0 ? u : u.slice(0, semi);
    const params = userParams(uri);
    edit(params);
    const next = { ...uri, user: base + formatParams(params) };
    return { ...next, raw: formatUri(next) };
  }
  if (isTelUri(uri)) {
    const params: Params = new Map(uri.params);
    edit(params);
    const next = { ...uri, params };
    return { ...next, raw: formatUri(next) };
  }
  return uri;
}

/**
 * Add or replace a telephone-number parameter such as `verstat`: in the user part of a sip/sips URI
 * (`sip:+12025551234;verstat=TN-Validation-Passed@host;user=phone`, 3GPP TS 24.229 §7.2A.20 with
 * RFC 3261 §19.1.6 user=phone) or among a tel URI's parameters (RFC 3966 §3). `value` null writes a flag
 * parameter (`;npdi`), as in {@link Params}. A replaced parameter keeps its position. The value is written
 * as given (pass a token). URIs without a user part and other schemes are returned unchanged.
 */
export function withUserParam(uri: Uri, name: string, value: string | null): Uri {
  const key = name.toLowerCase();
  return withUserParams(uri, (params) => {
    params.set(key, value);
  });
}

/** Remove a user-part (sip/sips) or tel parameter, e.g. a `verstat` received from an untrusted peer. */
export function withoutUserParam(uri: Uri, name: string): Uri {
  const key = name.toLowerCase();
  return withUserParams(uri, (params) => {
    params.delete(key);
  });
}

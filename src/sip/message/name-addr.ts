/**
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1):
 *   ( name-addr / addr-spec ) *( SEMI param ),  name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
 * Used for From, To, Contact, Route, Record-Route, P-Asserted-Identity, Refer-To ...
 */
import { SipParseError } from './errors.js';
import { closingQuote, isTokenChar, splitHeaderValues } from './headers.js';
import { formatParams, isWs, NO_PARAMS, parseGenericParams, skipWs } from './params.js';
import type { NameAddr, Params, Uri } from './types.js';
import { formatUri, parseUri } from './uri.js';

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LT = 0x3c;
const SEMI = 0x3b;

/** Where a bare addr-spec ends (`;`, LWS) or goes wrong (`?`, `,`, `<`, `>`, `"`). */
const ADDR_SPEC_END = /[;\s?,<>"]/g;

function badNameAddr(value: string, why: string): SipParseError {
  const shown = value.length > 200 ? `${value.slice(0, 200)}...` : value;
  return new SipParseError('bad_name_addr', `bad name-addr (${why}): ${shown}`);
}

function unquote(s: string, start: number, end: number): string {
  // s[start] and s[end - 1] are the quotes; undo quoted-pair (RFC 3261 §25.1).
  const inner = s.slice(start + 1, end - 1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < inner.length) i++;
    out += inner[i];
  }
  return out;
}

/** Parse one name-addr or addr-spec with its header parameters. Throws SipParseError `bad_name_addr`. */
export function parseNameAddr(value: string): NameAddr {
  const n = value.length;
  let p = skipWs(value, 0);
  let displayName: string | undefined;
  let angle = false;
  let uriText: string;

  const c0 = p < n ? value.charCodeAt(p) : -1;
  if (c0 === DQUOTE) {
    const close = closingQuote(value, p);
    if (close < 0) throw badNameAddr(value, 'unterminated quoted display name'); // RFC 4475 §3.1.2.6
    displayName = unquote(value, p, close + 1);
    p = skipWs(value, close + 1);
    if (p >= n || value.charCodeAt(p) !== LT) throw badNameAddr(value, 'expected "<" after display name');
  } else if (c0 !== LT) {
    // display-name = *(token LWS) / quoted-string; a run of tokens ending at "<" is a display name
    // (RFC 4475 §3.1.1.6: no LWS needed before "<"). Anything else is an addr-spec.
    let q = p;
    while (q < n) {
      const c = value.charCodeAt(q);
      if (!isTokenChar(c) && !isWs(c)) break;
      q++;
    }
    if (q < n && value.charCodeAt(q) === LT) {
      let e = q;
      while (e > p && isWs(value.charCodeAt(e - 1))) e--;
      displayName = value.slice(p, e);
      p = q;
    }
  }

  if (p < n && value.charCodeAt(p) === LT) {
    const close = value.indexOf('>', p + 1);
    if (close < 0) throw badNameAddr(value, 'missing ">"');
    // Liberal (RFC 4475 §3.1.2.14): LWS just inside the brackets is ignored.
    const a = skipWs(value, p + 1);
    let b = close;
    while (b > a && isWs(value.charCodeAt(b - 1))) b--;
    uriText = value.slice(a, b);
    angle = true;
    p = close + 1;
  } else {
    // RFC 3261 §20.10: without <>, the URI ends at the first ";" (header parameters follow) and must not
    // contain "," or "?" (RFC 4475 §3.1.2.13: we refuse rather than guess).
    const s = p;
    ADDR_SPEC_END.lastIndex = p;
    p = ADDR_SPEC_END.test(value) ? ADDR_SPEC_END.lastIndex - 1 : n;
    if (p < n) {
      const c = value.charCodeAt(p);
      if (c !== SEMI && !isWs(c)) throw badNameAddr(value, 'addr-spec needs <> around a URI with "?" or ","');
    }
    if (p === s) throw badNameAddr(value, 'empty');
    uriText = value.slice(s, p);
  }

  let uri: Uri;
  try {
    uri = parseUri(uriText);
  } catch (e) {
    throw badNameAddr(value, e instanceof Error ? e.message : 'uri');
  }
  let params: Params = NO_PARAMS;
  if (p < value.length) {
    params = new Map();
    parseGenericParams(value, p, params, 'bad_name_addr');
  }
  const tag = params.get('tag');
  return { displayName, uri, params, tag: tag ?? undefined, angle };
}

/** Parse a comma-separated list of name-addrs (Contact, Route, Record-Route, P-Asserted-Identity ...). */
export function parseNameAddrList(value: string): NameAddr[] {
  const parts = splitHeaderValues(value);
  if (parts.length === 0) throw badNameAddr(value, 'empty');
  const out = new Array<NameAddr>(parts.length);
  for (let i = 0; i < parts.length; i++) out[i] = parseNameAddr(parts[i]!);
  return out;
}

function quoteDisplayName(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) out += '\\';
    out += s[i];
  }
  return `${out}"`;
}

/**
 * Write a name-addr. The display name is always quoted; the URI is in <> when it was, when there is a display
 * name, or when it holds ";", "," or "?" (RFC 3261 §20.10).
 */
export function formatNameAddr(na: NameAddr): string {
  const uri = formatUri(na.uri);
  let s = '';
  if (na.displayName !== undefined) s = `${quoteDisplayName(na.displayName)} `;
  const angle = na.angle || na.displayName !== undefined || /[;,?]/.test(uri);
  s += angle ? `<${uri}>` : uri;
  return s + formatParams(na.params);
}

/** Copy with `tag` set (RFC 3261 §8.2.6.2, §12.1.1), keeping the other parameters in order. */
export function withTag(na: NameAddr, tag: string): NameAddr {
  const params: Params = new Map(na.params);
  params.set('tag', tag);
  return { ...na, params, tag };
}

/**
 * Header parameters shared by name-addr, Via and friends (RFC 3261 §25.1):
 *   *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ], gen-value = token / host / quoted-string
 * SEMI and EQUAL allow LWS on both sides; after unfolding, LWS is SP / HT.
 */
import { SipParseError, type SipParseErrorCode } from './errors.js';
import { isTokenChar } from './headers.js';
import type { Params } from './types.js';

const SP = 0x20;
const HT = 0x09;
const SEMI = 0x3b;
const EQUAL = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

export function isWs(c: number): boolean {
  return c === SP || c === HT;
}

export function skipWs(s: string, p: number): number {
  const n = s.length;
  while (p < n) {
    const c = s.charCodeAt(p);
    if (c !== SP && c !== HT) break;
    p++;
  }
  return p;
}

/** Index just past the closing quote of the quoted-string starting at `p` (which holds `"`), or -1. */
export function quotedEnd(s: string, p: number): number {
  const n = s.length;
  for (let i = p + 1; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i + 1;
  }
  return -1;
}

/**
 * Parse `*( SEMI generic-param )` from `p` to the end of `s` into `params` (names lower-cased; values as on the
 * wire, quoted strings keep their quotes). Trailing LWS is allowed; anything else, an empty name or an
 * unterminated quote throws SipParseError with `code`.
 */
export function parseGenericParams(s: string, p: number, params: Params, code: SipParseErrorCode): void {
  const n = s.length;
  if (p >= n) return;
  // Fast path, nearly every real header: `;name=value;flag` with no LWS, quotes or commas. One native scan
  // proves that, then native searches split it.
  if (s.charCodeAt(p) === SEMI) {
    SLOW_CHARS.lastIndex = p;
    if (!SLOW_CHARS.test(s)) {
      parseSimpleParams(s, p, params, code);
      return;
    }
  }
  for (;;) {
    p = skipWs(s, p);
    if (p >= n) return;
    if (s.charCodeAt(p) !== SEMI) throw fail(s, code, 'expected ";"');
    p = skipWs(s, p + 1);
    const ns = p;
    let upper = false;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (!isTokenChar(c)) break;
      if (c <= 0x5a && c >= 0x41) upper = true;
      p++;
    }
    if (p === ns) throw fail(s, code, 'empty parameter name');
    const name = upper ? s.slice(ns, p).toLowerCase() : s.slice(ns, p);
    p = skipWs(s, p);
    if (p < n && s.charCodeAt(p) === EQUAL) {
      p = skipWs(s, p + 1);
      const vs = p;
      if (p < n && s.charCodeAt(p) === DQUOTE) {
        p = quotedEnd(s, p);
        if (p < 0) throw fail(s, code, 'unterminated quoted parameter value');
      } else {
        // token / host (incl. an IPv6 reference): one run of printable characters.
        while (p < n) {
          const c = s.charCodeAt(p);
          if (c === SEMI || c === SP || c === HT || c === COMMA || c === DQUOTE || c < 0x20 || c === 0x7f)
            break;
          p++;
        }
        if (p === vs) throw fail(s, code, `empty value for ${name}`);
      }
      params.set(name, s.slice(vs, p));
    } else {
      params.set(name, null);
    }
  }
}

const SLOW_CHARS = /[\x00-\x20\x7f",]/g;

/** `;name[=value]` repeated to the end of `s`, from `p` (which holds `;`); no LWS, quotes or commas in it. */
function parseSimpleParams(s: string, p: number, params: Params, code: SipParseErrorCode): void {
  const n = s.length;
  while (p < n) {
    let next = s.indexOf(';', p + 1);
    if (next < 0) next = n;
    let eq = s.indexOf('=', p + 1);
    if (eq >= next) eq = -1;
    const ne = eq < 0 ? next : eq;
    // Names are short: check the token characters and look for upper case in one pass.
    let upper = false;
    for (let i = p + 1; i < ne; i++) {
      const c = s.charCodeAt(i);
      if (!isTokenChar(c)) throw fail(s, code, 'bad parameter name');
      if (c <= 0x5a && c >= 0x41) upper = true;
    }
    if (ne === p + 1) throw fail(s, code, 'empty parameter name');
    const name = upper ? s.slice(p + 1, ne).toLowerCase() : s.slice(p + 1, ne);
    if (eq < 0) params.set(name, null);
    else {
      if (eq + 1 === next) throw fail(s, code, `empty value for ${name}`);
      params.set(name, s.slice(eq + 1, next));
    }
    p = next;
  }
}

/** `;name=value;flag` */
export function formatParams(params: Params): string {
  let s = '';
  for (const [k, v] of params) s += v === null ? `;${k}` : `;${k}=${v}`;
  return s;
}

function fail(s: string, code: SipParseErrorCode, why: string): SipParseError {
  const shown = s.length > 200 ? `${s.slice(0, 200)}...` : s;
  return new SipParseError(code, `bad parameters (${why}): ${shown}`);
}

/**
 * Parameters of a URI or name-addr that has none: one shared, read-only instance instead of an empty Map per
 * parse (most Request-URIs, To headers of initial requests and Contacts carry none). Writing throws.
 */
class NoParams extends Map<string, string | null> {
  override set(): this {
    throw new TypeError('NO_PARAMS is read-only: copy it (new Map(params)) to add parameters');
  }
  override delete(): boolean {
    throw new TypeError('NO_PARAMS is read-only');
  }
  override clear(): void {
    throw new TypeError('NO_PARAMS is read-only');
  }
}

export const NO_PARAMS: Params = new NoParams();

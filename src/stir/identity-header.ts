/**
 * The SIP Identity header field value (RFC 8224 §4.1), without any SIP dependency: the B2BUA hands over
 * the raw header values.
 *
 * ```
 * Identity = "Identity" HCOLON signed-identity-digest SEMI ident-info *( SEMI ident-info-params )
 * signed-identity-digest = 1*(base64-char / ".")
 * ident-info = "info" EQUAL ident-info-uri
 * ident-info-uri = LAQUOT absoluteURI RAQUOT
 * ident-info-params = ident-info-alg / ident-type / ident-info-extension
 * ident-info-alg = "alg" EQUAL token
 * ident-type = "ppt" EQUAL token
 * ```
 *
 * Formatting emits the full form ATIS-1000074 §5.3.1 requires: `<jws>;info=<x5u>;alg=ES256;ppt=shaken`.
 * Parsing is tolerant of what peers send (white space, `info` with or without angle brackets, quoted
 * values such as `ppt="shaken"`, unknown parameters) and total: any other input is `malformed`, never an
 * exception (STIR-NOTES: a missing `;` crashing a parser).
 */
import { b64urlDecode } from './base64url.js';

/** RFC 8224 §4.1 full form with `info=<url>` (LAQUOT absoluteURI RAQUOT), `alg` and `ppt` (RFC 8588 §6). */
export function formatIdentityHeader(jws: string, x5u: string): string {
  return jws + ';info=<' + x5u + '>;alg=ES256;ppt=shaken';
}

export interface ParsedIdentity {
  /** The JWS compact serialisation (`header.payload.signature`, payload empty in the compact form). */
  readonly token: string;
  /** The `info` URI without angle brackets or quotes; `undefined` when absent. */
  readonly info: string | undefined;
  /** Other parameters, names lower-cased, values unquoted (`alg`, `ppt`, extensions); first one wins. */
  readonly params: Map<string, string>;
  /** RFC 8224 §4.1 / RFC 8225 §7 compact form: the token has an empty payload section (`hdr..sig`). */
  readonly compact: boolean;
}

export interface IdentityMalformed {
  readonly error: 'malformed';
}

const MALFORMED: IdentityMalformed = { error: 'malformed' };

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** base64url alphabet plus `.` (RFC 8224 §4.1 signed-identity-digest, with RFC 7515 base64url). */
const DIGEST = /[A-Za-z0-9_.-]*/y;

/** RFC 3261 §25.1 token characters (parameter names). */
function isTokenChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 45 || // -
    c === 46 || // .
    c === 33 || // !
    c === 37 || // %
    c === 42 || // *
    c === 95 || // _
    c === 43 || // +
    c === 96 || // `
    c === 39 || // '
    c === 126 // ~
  );
}

/** Parse one Identity header value. */
export function parseIdentityHeader(value: string): ParsedIdentity | IdentityMalformed {
  const n = value.length;
  let i = 0;
  while (i < n && isWs(value.charCodeAt(i))) i++;
  const tokenStart = i;
  DIGEST.lastIndex = i;
  DIGEST.test(value); // always matches (possibly empty); lastIndex = end of the digest characters
  const tokenEnd = DIGEST.lastIndex;
  i = tokenEnd;
  const firstDot = value.indexOf('.', tokenStart);
  const secondDot = firstDot < 0 || firstDot >= tokenEnd ? -1 : value.indexOf('.', firstDot + 1);
  const thirdDot = secondDot < 0 || secondDot >= tokenEnd ? -1 : value.indexOf('.', secondDot + 1);
  // RFC 7515 §7.1: exactly three sections; header and signature are never empty.
  if (firstDot < 0 || firstDot >= tokenEnd || firstDot === tokenStart) return MALFORMED;
  if (secondDot < 0 || secondDot >= tokenEnd || secondDot === tokenEnd - 1) return MALFORMED;
  if (thirdDot >= 0 && thirdDot < tokenEnd) return MALFORMED;
  const token = value.slice(tokenStart, tokenEnd);
  const compact = secondDot === firstDot + 1;
  let info: string | undefined;
  const params = new Map<string, string>();
  for (;;) {
    while (i < n && isWs(value.charCodeAt(i))) i++;
    if (i >= n) break;
    // Everything after the token is `;param` (a missing `;` or stray characters are malformed).
    if (value.charCodeAt(i) !== 59 /* ; */) return MALFORMED;
    i++;
    while (i < n && isWs(value.charCodeAt(i))) i++;
    if (i >= n) break; // a trailing `;` is harmless: tolerated
    const nameStart = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === nameStart) return MALFORMED;
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < n && isWs(value.charCodeAt(i))) i++;
    let v = '';
    if (i < n && value.charCodeAt(i) === 61 /* = */) {
      i++;
      while (i < n && isWs(value.charCodeAt(i))) i++;
      const c = value.charCodeAt(i);
      if (c === 60 /* < */) {
        const close = value.indexOf('>', i + 1);
        if (close < 0) return MALFORMED;
        v = value.slice(i + 1, close).trim();
        i = close + 1;
      } else if (c === 34 /* " */) {
        // RFC 3261 §25.1 quoted-string with quoted-pair.
        i++;
        let closed = false;
        while (i < n) {
          const q = value.charCodeAt(i);
          if (q === 92 /* \ */ && i + 1 < n) {
            v += value[i + 1];
            i += 2;
          } else if (q === 34) {
            closed = true;
            i++;
            break;
          } else {
            v += value[i];
            i++;
          }
        }
        if (!closed) return MALFORMED;
      } else {
        const vStart = i;
        while (i < n) {
          const q = value.charCodeAt(i);
          if (q === 59 || q === 44 || isWs(q) || q === 34 || q === 60) break;
          i++;
        }
        v = value.slice(vStart, i);
      }
    }
    if (name === 'info') {
      if (info === undefined) info = v;
    } else if (!params.has(name)) {
      params.set(name, v);
    }
  }
  return { token, info, params, compact };
}

/** Split a value on commas outside `<...>` and quoted strings (several Identity values on one line). */
export function splitIdentityValues(value: string): string[] {
  if (value.indexOf(',') < 0) return [value];
  const out: string[] = [];
  let start = 0;
  let inAngle = false;
  let inQuote = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92) i++;
      else if (c === 34) inQuote = false;
    } else if (inAngle) {
      if (c === 62) inAngle = false;
    } else if (c === 34) {
      inQuote = true;
    } else if (c === 60) {
      inAngle = true;
    } else if (c === 44) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

/** `ppt` of the JWS protected header of `token`, or `undefined` when unreadable or absent. */
export function jwsHeaderPpt(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const bytes = b64urlDecode(token.slice(0, dot));
  if (!bytes) return undefined;
  try {
    const h: unknown = JSON.parse(bytes.toString('utf8'));
    if (h !== null && typeof h === 'object' && typeof (h as { ppt?: unknown }).ppt === 'string') {
      return (h as { ppt: string }).ppt;
    }
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * Pick the SHAKEN PASSporT among all Identity values of a request (RFC 8224 §4: several Identity
 * header fields may be present, e.g. `div` or `rcd` next to `shaken`; RFC 8588 §6 `ppt=shaken`).
 * A value with a `ppt` parameter is judged by it (compared case-insensitively, quotes removed); without
 * one, by the `ppt` in the JWS header. The first SHAKEN value wins.
 *
 * Returns `undefined` when no value is SHAKEN and every value parsed (e.g. no Identity at all, or only
 * `div`), and `'malformed'` when no SHAKEN value was found but at least one value could not be parsed
 * (it may have been the SHAKEN one).
 */
export function selectShakenIdentity(values: readonly string[]): ParsedIdentity | undefined | 'malformed' {
  let sawMalformed = false;
  for (const raw of values) {
    for (const one of splitIdentityValues(raw)) {
      if (one.trim().length === 0) continue;
      const p = parseIdentityHeader(one);
      if ('error' in p) {
        sawMalformed = true;
        continue;
      }
      const ppt = p.params.get('ppt');
      const isShaken =
        ppt !== undefined ? ppt.toLowerCase() === 'shaken' : jwsHeaderPpt(p.token) === 'shaken';
      if (isShaken) return p;
    }
  }
  return sawMalformed ? 'malformed' : undefined;
}

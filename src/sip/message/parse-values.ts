/**
 * Value parsers for the headers the message layer validates eagerly. Each throws SipParseError with its own
 * code so the caller can answer 400 with a precise reason.
 */
import { SipParseError } from './errors.js';
import { isTokenChar } from './headers.js';
import { isWs, skipWs } from './params.js';
import type { CSeq } from './types.js';

export { parseNameAddr, parseNameAddrList } from './name-addr.js';
export { parseUri } from './uri.js';
export { parseVia } from './via.js';

const MAX_CSEQ = 0xffffffff;

/**
 * CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16). RFC 3261 §8.1.1.5 has senders stay below 2^31; we accept any
 * 32-bit unsigned value and refuse larger ones (RFC 4475 §3.1.2.4).
 */
export function parseCSeq(value: string): CSeq {
  const n = value.length;
  let p = skipWs(value, 0);
  const ds = p;
  let seq = 0;
  while (p < n) {
    const c = value.charCodeAt(p);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
    if (seq > MAX_CSEQ)
      throw new SipParseError('bad_cseq', `CSeq number out of range: ${value.slice(0, 64)}`);
    p++;
  }
  if (p === ds) throw new SipParseError('bad_cseq', `CSeq without a number: ${value.slice(0, 64)}`);
  if (p >= n || !isWs(value.charCodeAt(p)))
    throw new SipParseError('bad_cseq', `bad CSeq: ${value.slice(0, 64)}`);
  p = skipWs(value, p);
  const ms = p;
  while (p < n && isTokenChar(value.charCodeAt(p))) p++;
  if (p === ms || skipWs(value, p) !== n) {
    throw new SipParseError('bad_cseq', `bad CSeq method: ${value.slice(0, 64)}`);
  }
  return { seq, method: value.slice(ms, p) };
}

/** Max-Forwards = 1*DIGIT (RFC 3261 §20.22), 0..255 per RFC 3261 §8.1.1.6 / RFC 4475 §3.1.2.4. */
export function parseMaxForwards(value: string): number {
  const v = parseDigits(value, 255);
  if (v < 0) throw new SipParseError('bad_max_forwards', `bad Max-Forwards: ${value.slice(0, 64)}`);
  return v;
}

/** Content-Length = 1*DIGIT (RFC 3261 §20.14). Refuses signs, blanks and absurd sizes (RFC 4475 §3.1.2.3). */
export function parseContentLength(value: string): number {
  const v = parseDigits(value, 0x7fffffff);
  if (v < 0) throw new SipParseError('bad_content_length', `bad Content-Length: ${value.slice(0, 64)}`);
  return v;
}

/** 1*DIGIT with optional surrounding LWS, at most `max`; -1 when malformed or too large. */
function parseDigits(value: string, max: number): number {
  const n = value.length;
  let p = skipWs(value, 0);
  const ds = p;
  let v = 0;
  while (p < n) {
    const c = value.charCodeAt(p);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    if (v > max) return -1;
    p++;
  }
  if (p === ds || skipWs(value, p) !== n) return -1;
  return v;
}

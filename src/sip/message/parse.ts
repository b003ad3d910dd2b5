/**
 * SIP message parsing (RFC 3261 §7, §7.5, §18.3) and stream framing.
 *
 * The header section is decoded once as latin1 (one char per octet), so header text round-trips byte for byte
 * through serialize.ts whatever the peer sent (UTF-8 display names, raw octets in quoted strings); use
 * `wireTextToUnicode` from headers.ts where a real Unicode string is needed.
 *
 * parseMessage splits the start line and header lines, frames the body by Content-Length, then validates the
 * headers every layer above relies on (Request-URI, Via, From, To, Call-ID, CSeq, Max-Forwards). Every failure
 * is a SipParseError with a stable code; when the start line and header lines could be split, `partial` holds
 * the message so a request can still be answered with 400 / 505 (RFC 3261 §8.2.6).
 *
 * RFC 4475 choices (see test/unit/sip/message/torture.test.ts):
 * - Liberal: runs of SP between request-line elements and trailing SP (§3.1.2.9, §3.1.2.10), LWS just inside
 *   the <> of a name-addr (§3.1.2.14), a Date we never read (§3.1.2.12), bare LF line ends.
 * - Strict: <> around the Request-URI (§3.1.2.7), LWS inside it (§3.1.2.8), headers in the Request-URI
 *   (§3.1.2.11), unquoted non-token display names (§3.1.2.15), a header section without its empty line.
 */
import { isUtf8 } from 'node:buffer';
import { SipParseError } from './errors.js';
import { knownHeaderName, splitHeaderValues, wireHeaderName } from './headers.js';
import { primeHotHeaders, type SipMessage, SipRequest, SipResponse } from './message.js';
import { parseContentLength, parseCSeq, parseMaxForwards, parseNameAddr, parseVia } from './parse-values.js';
import type { SipHeader, Via } from './types.js';
import { isSipUri } from './uri.js';

export interface MessageLimits {
  /** Largest message (datagram, or stream frame after keep-alive bytes) accepted, in octets. */
  readonly maxMessageSize: number;
  /** Most header fields (after unfolding) in one message. */
  readonly maxHeaders: number;
  /** Longest physical line, start line included, in octets without the line end. */
  readonly maxLineLength: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = Object.freeze({
  maxMessageSize: 65536,
  maxHeaders: 256,
  maxLineLength: 8192,
});

export interface ParseOptions {
  /**
   * The buffer is one frame cut from a stream by {@link frameLength}: Content-Length is mandatory
   * (RFC 3261 §18.3) and the body is copied, so the caller may reuse its stream buffer. Datagram bodies
   * (the default) are views into `buf`.
   */
  readonly stream?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** Messages up to this size are decoded to text in one piece, body included. */
const WHOLE_DECODE_LIMIT = 8192;

function mergeLimits(limits: Partial<MessageLimits> | undefined): MessageLimits {
  if (limits === undefined) return DEFAULT_MESSAGE_LIMITS;
  return {
    maxMessageSize: limits.maxMessageSize ?? DEFAULT_MESSAGE_LIMITS.maxMessageSize,
    maxHeaders: limits.maxHeaders ?? DEFAULT_MESSAGE_LIMITS.maxHeaders,
    maxLineLength: limits.maxLineLength ?? DEFAULT_MESSAGE_LIMITS.maxLineLength,
  };
}

/**
 * Index of the first octet at or after `start` that is not CR or LF. RFC 3261 §7.5 has stream receivers
 * ignore CRLF before a start line; RFC 5626 §3.5.1 uses CRLFCRLF as a keep-alive ping (answer CRLF).
 * Stream transports call this before {@link frameLength} and answer a ping when they skipped 4 or more octets.
 */
export function skipKeepAlive(buf: Buffer, start: number): number {
  const n = buf.length;
  let i = start;
  while (i < n) {
    const c = buf[i]!;
    if (c !== CR && c !== LF) break;
    i++;
  }
  return i;
}

/**
 * Stream framing (RFC 3261 §18.3): the total length in octets of the next complete message starting at
 * `start` — header section, empty line and Content-Length octets of body — or -1 when more bytes are needed.
 * CR/LF octets at `start` (keep-alives, RFC 3261 §7.5) are counted in the length and skipped by parseMessage;
 * callers should skip them with {@link skipKeepAlive} first so pings are answered and never pile up.
 *
 * Throws SipParseError when the stream can never yield a message and the connection should be closed:
 * `bad_content_length` (missing, malformed, or conflicting values), `too_large` (header section or total over
 * maxMessageSize), `line_too_long`, `too_many_headers`.
 */
export function frameLength(buf: Buffer, start: number, limits: MessageLimits): number {
  const first = skipKeepAlive(buf, start);
  const n = buf.length;
  const maxEnd = first + limits.maxMessageSize; // no frame may extend past this
  let ls = first; // start of the current line
  let lines = 0;
  let cl = -1; // Content-Length value once seen
  let inCl = false; // current header is Content-Length (its value may be folded onto the next line)
  let clValue = '';
  for (;;) {
    const nl = buf.indexOf(LF, ls);
    if (nl < 0) {
      if (n - ls > limits.maxLineLength) throw lineTooLong();
      if (n > maxEnd) throw tooLarge();
      return -1;
    }
    let le = nl;
    if (le > ls && buf[le - 1] === CR) le--;
    if (le - ls > limits.maxLineLength) throw lineTooLong();
    if (nl >= maxEnd) throw tooLarge();
    if (le === ls) {
      // Empty line: end of the header section (RFC 3261 §7).
      if (lines === 0) {
        ls = nl + 1;
        continue;
      }
      if (inCl) cl = mergeCl(cl, clValue);
      if (cl < 0) throw new SipParseError('bad_content_length', 'stream message without Content-Length');
      const bodyStart = nl + 1;
      const end = bodyStart + cl;
      if (end - first > limits.maxMessageSize) throw tooLarge();
      return end > n ? -1 : end - start;
    }
    const c0 = buf[ls]!;
    if (lines > 0 && (c0 === SP || c0 === HT)) {
      // Folded continuation of the previous header line.
      if (inCl) clValue += ` ${buf.toString('latin1', ls, le)}`;
    } else {
      if (inCl) {
        cl = mergeCl(cl, clValue);
        inCl = false;
      }
      lines++;
      if (lines > limits.maxHeaders + 1) throw tooManyHeaders();
      if (lines > 1) {
        const colon = isContentLengthLine(buf, ls, le);
        if (colon >= 0) {
          inCl = true;
          clValue = buf.toString('latin1', colon + 1, le);
        }
      }
    }
    ls = nl + 1;
  }
}

function mergeCl(cl: number, raw: string): number {
  const v = parseContentLength(raw);
  if (cl >= 0 && cl !== v) throw new SipParseError('bad_content_length', 'conflicting Content-Length values');
  return v;
}

/** If the line [ls, le) is a Content-Length (or `l`) header, the index of its colon, else -1. */
function isContentLengthLine(buf: Buffer, ls: number, le: number): number {
  const c0 = buf[ls]! | 0x20;
  if (c0 !== 0x6c && c0 !== 0x63) return -1; // 'l' or 'c'
  let p = ls + 1;
  if (c0 === 0x63) {
    const word = 'ontent-length';
    if (le - p < word.length) return -1;
    for (let i = 0; i < word.length; i++) {
      if ((buf[p + i]! | 0x20) !== word.charCodeAt(i)) return -1;
    }
    p += word.length;
  }
  while (p < le && (buf[p] === SP || buf[p] === HT)) p++;
  return p < le && buf[p] === COLON ? p : -1;
}

function lineTooLong(): SipParseError {
  return new SipParseError('line_too_long', 'line exceeds maxLineLength');
}

function tooLarge(): SipParseError {
  return new SipParseError('too_large', 'message exceeds maxMessageSize');
}

function tooManyHeaders(): SipParseError {
  return new SipParseError('too_many_headers', 'too many header fields');
}

/**
 * The message as far as it can be read from `buf` (a stream's pending octets when it can no longer be framed):
 * the parsed message, else the partial one a SipParseError carries, else undefined. For answering the
 * request (RFC 3261 §8.2.6) before the connection is closed; size limits other than line and header count
 * are lifted, since the octets are already held.
 */
export function readableMessage(buf: Buffer, limits: MessageLimits): SipMessage | undefined {
  try {
    return parse(buf, { ...limits, maxMessageSize: Math.max(limits.maxMessageSize, buf.length) }, false);
  } catch (e) {
    return e instanceof SipParseError ? e.partial : undefined;
  }
}

/**
 * Parse one SIP message from a datagram (default) or from a stream frame cut by {@link frameLength}.
 * Throws only SipParseError.
 *
 * Datagram rules (RFC 3261 §18.3, RFC 4475 §3.1.1.8, §3.1.2.2): the body is exactly Content-Length octets and
 * octets after it are ignored; a Content-Length beyond the datagram is `incomplete`; without Content-Length the
 * body is the rest of the datagram.
 */
export function parseMessage(buf: Buffer, limits?: Partial<MessageLimits>, opts?: ParseOptions): SipMessage {
  try {
    return parse(buf, mergeLimits(limits), opts?.stream === true);
  } catch (e) {
    if (e instanceof SipParseError) throw e;
    throw new SipParseError(
      'bad_header',
      `unexpected parser failure: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

function parse(buf: Buffer, limits: MessageLimits, stream: boolean): SipMessage {
  if (buf.length > limits.maxMessageSize) {
    // RFC 3261 §21.5.11: a request too large still gets its 513 when its headers can be read.
    const e = tooLarge();
    e.partial = readableMessage(buf, limits);
    throw e;
  }
  const start = skipKeepAlive(buf, 0);
  if (start === buf.length) throw new SipParseError('incomplete', 'empty message');

  // The header section ends at the first empty line (RFC 3261 §7); the line loop below finds it. Small
  // messages are decoded whole (one native call; the body's share is cheap); big ones only up to the first
  // CRLFCRLF, which cannot come before the first empty line.
  let bodyStart = buf.length;
  let terminated = false;
  let decodeEnd = buf.length;
  if (decodeEnd - start > WHOLE_DECODE_LIMIT) {
    const he = buf.indexOf(CRLFCRLF, start);
    if (he >= 0) decodeEnd = he + 4;
  }
  const s = latin1(buf, start, decodeEnd);
  const sn = s.length;
  const maxLine = limits.maxLineLength;

  // Start line.
  let nl = s.indexOf('\n');
  if (nl < 0) nl = sn;
  let le = nl > 0 && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
  if (le > maxLine) throw lineTooLong();
  const startLine = s.slice(0, le);

  const headers: SipHeader[] = [];
  let badLine: string | undefined;
  let clCount = 0;
  let clFirst = -1;
  let clConflict = false;
  let clBad: SipParseError | undefined;
  // Where the hot headers are (first index) and how many lines each has.
  const hot: HotIndex = {
    viaAt: -1,
    viaLines: 0,
    fromAt: -1,
    fromLines: 0,
    toAt: -1,
    toLines: 0,
    callIdAt: -1,
    callIdLines: 0,
    cseqAt: -1,
    cseqLines: 0,
    mfAt: -1,
    mfLines: 0,
  };
  let last: SipHeader | undefined;
  let nextColon = -1;
  let lines = 0;
  // A limit hit while splitting: thrown once the start line is read, so a request can still get its 400.
  let overLimit: SipParseError | undefined;
  const maxLines = limits.maxHeaders * 4; // folded and malformed lines count too
  let pos = nl + 1;
  while (pos < sn) {
    if (++lines > maxLines) {
      overLimit = tooManyHeaders();
      break;
    }
    nl = s.indexOf('\n', pos);
    if (nl < 0) nl = sn; // unterminated last line (no empty line at all)
    le = nl > pos && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (le - pos > maxLine) {
      overLimit = lineTooLong();
      break;
    }
    if (le === pos) {
      // The empty line: end of the header section.
      bodyStart = start + nl + 1;
      terminated = true;
      break;
    }
    const c0 = s.charCodeAt(pos);
    if (c0 === SP || c0 === HT) {
      // RFC 3261 §7.3.1: a line starting with SP/HT continues the previous header; fold to one SP.
      if (last === undefined) {
        badLine ??= s.slice(pos, le);
      } else {
        const more = trimmed(s, pos, le);
        if (more.length > 0) {
          const value = last.value.length === 0 ? more : `${last.value} ${more}`;
          last = { name: last.name, rawName: last.rawName, value };
          headers[headers.length - 1] = last;
        }
      }
      pos = nl + 1;
      continue;
    }
    // The first ':' at or after pos. Cached: lines without one must not make the search quadratic.
    if (nextColon < pos) {
      nextColon = s.indexOf(':', pos);
      if (nextColon < 0) nextColon = sn;
    }
    const colon = nextColon;
    let name: string | undefined;
    let rawName = '';
    if (colon < le) {
      let ne = colon;
      while (ne > pos && (s.charCodeAt(ne - 1) === SP || s.charCodeAt(ne - 1) === HT)) ne--;
      rawName = s.slice(pos, ne);
      const known = knownHeaderName(rawName);
      if (known !== undefined) {
        name = known.name;
        rawName = known.raw; // the interned spelling; the slice is garbage at once
      } else {
        name = wireHeaderName(rawName);
      }
    }
    if (name === undefined) {
      // RFC 3261 §7.3.1: not `field-name: value`. Kept out of `headers`; refused once the rest is split.
      badLine ??= s.slice(pos, le);
      last = undefined;
      pos = nl + 1;
      continue;
    }
    if (headers.length >= limits.maxHeaders) {
      overLimit = tooManyHeaders();
      break;
    }
    const value = trimmed(s, colon + 1, le);
    last = { name, rawName, value };
    headers.push(last);
    switch (name) {
      case 'via':
        if (hot.viaLines++ === 0) hot.viaAt = headers.length - 1;
        break;
      case 'from':
        if (hot.fromLines++ === 0) hot.fromAt = headers.length - 1;
        break;
      case 'to':
        if (hot.toLines++ === 0) hot.toAt = headers.length - 1;
        break;
      case 'call-id':
        if (hot.callIdLines++ === 0) hot.callIdAt = headers.length - 1;
        break;
      case 'cseq':
        if (hot.cseqLines++ === 0) hot.cseqAt = headers.length - 1;
        break;
      case 'max-forwards':
        if (hot.mfLines++ === 0) hot.mfAt = headers.length - 1;
        break;
      case 'content-length':
        clCount++;
        break;
    }
    pos = nl + 1;
  }

  // Content-Length values are read after the loop: a folded value is only complete then.
  if (clCount > 0) {
    for (const h of headers) {
      if (h.name !== 'content-length') continue;
      try {
        const v = parseContentLength(h.value);
        if (clFirst >= 0 && v !== clFirst) clConflict = true;
        if (clFirst < 0) clFirst = v;
      } catch (e) {
        clBad ??= e as SipParseError;
      }
    }
  }

  const msg = startMessage(startLine, headers);
  if (overLimit !== undefined) {
    // The header lines before the limit are kept: with the Via among them the request gets its 400.
    if (!(msg instanceof SipParseError)) overLimit.partial = msg;
    throw overLimit;
  }
  if (msg instanceof SipParseError) throw msg;
  const fail = (code: SipParseError['code'], text: string): SipParseError =>
    new SipParseError(code, text, msg);

  if (msg.version !== 'SIP/2.0') {
    // RFC 3261 §8.2.6 / RFC 4475 §3.1.2.16: answer 505; the partial message carries what the answer needs.
    throw fail('bad_version', `unsupported SIP version ${msg.version}`);
  }
  if (badLine !== undefined) throw fail('bad_header', `malformed header line: ${badLine.slice(0, 100)}`);
  if (!terminated) throw fail('incomplete', 'header section not terminated by an empty line');
  // RFC 3261 §25.1: header text is UTF-8 (TEXT-UTF8, UTF8-NONASCII), and NUL appears only escaped, as a
  // quoted-pair in a quoted-string (RFC 4475 §3.1.1.3). Anything else is refused here rather than relayed to
  // the next hop; the body (binary ISUP, say) is not concerned.
  const section = buf.subarray(start, bodyStart);
  if (!isUtf8(section)) throw fail('bad_octets', 'header section is not valid UTF-8');
  if (bareNul(section)) throw fail('bad_octets', 'NUL octet in the header section');

  // Body framing (RFC 3261 §18.3, §20.14; RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9).
  if (clBad !== undefined) throw fail('bad_content_length', clBad.message);
  if (clConflict) throw fail('bad_content_length', 'conflicting Content-Length values');
  if (clFirst >= 0) {
    const end = bodyStart + clFirst;
    if (end > buf.length) throw fail('incomplete', `body shorter than Content-Length ${clFirst}`);
    if (clFirst > 0)
      msg.body = stream ? Buffer.from(buf.subarray(bodyStart, end)) : buf.subarray(bodyStart, end);
  } else if (stream) {
    throw fail('bad_content_length', 'stream message without Content-Length');
  } else if (bodyStart < buf.length) {
    msg.body = buf.subarray(bodyStart);
  }

  try {
    validate(msg, headers, hot);
  } catch (e) {
    if (e instanceof SipParseError) {
      e.partial ??= msg;
      throw e;
    }
    throw fail('bad_header', `unexpected parser failure: ${e instanceof Error ? e.message : String(e)}`);
  }
  return msg;
}

const BACKSLASH = 0x5c;

/** True when `section` holds a NUL octet that is not the second octet of a quoted-pair (`\` NUL). */
function bareNul(section: Buffer): boolean {
  for (let i = section.indexOf(0); i >= 0; i = section.indexOf(0, i + 1)) {
    if (i === 0 || section[i - 1] !== BACKSLASH) return true;
  }
  return false;
}

interface Latin1Buffer {
  latin1Slice(start: number, end: number): string;
}

/** buf.toString('latin1', a, b) without the argument juggling (Buffer#latin1Slice is Node's own fast path). */
function latin1(buf: Buffer, a: number, b: number): string {
  return (buf as unknown as Latin1Buffer).latin1Slice(a, b);
}

/** s[a, b) without leading/trailing SP / HT. */
function trimmed(s: string, a: number, b: number): string {
  while (a < b) {
    const c = s.charCodeAt(a);
    if (c !== SP && c !== HT) break;
    a++;
  }
  while (b > a) {
    const c = s.charCodeAt(b - 1);
    if (c !== SP && c !== HT && c !== CR) break;
    b--;
  }
  return s.slice(a, b);
}

const METHOD_OK = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const VERSION = /^SIP\/(\d+)\.(\d+)$/i;

/**
 * Split the start line (RFC 3261 §7.1, §7.2). Returns the message (version still to be checked by the caller)
 * or a SipParseError: `bad_start_line` / `bad_status_code`, with `partial` when a request could still be split.
 */
function startMessage(line: string, headers: SipHeader[]): SipMessage | SipParseError {
  const n = line.length;
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
  if (
    n >= 4 &&
    line.charCodeAt(3) === 0x2f &&
    (line.charCodeAt(0) | 0x20) === 0x73 &&
    (line.charCodeAt(1) | 0x20) === 0x69 &&
    (line.charCodeAt(2) | 0x20) === 0x70
  ) {
    let sp = line.indexOf(' ');
    if (sp < 0) return new SipParseError('bad_start_line', `bad status line: ${line.slice(0, 100)}`);
    const version = normaliseVersion(line.slice(0, sp));
    if (version === undefined)
      return new SipParseError('bad_start_line', `bad status line: ${line.slice(0, 100)}`);
    while (sp < n && line.charCodeAt(sp) === SP) sp++;
    const cs = sp;
    let status = 0;
    while (sp < n) {
      const c = line.charCodeAt(sp);
      if (c < 0x30 || c > 0x39) break;
      status = status * 10 + (c - 0x30);
      sp++;
    }
    // RFC 3261 §7.2, §21: Status-Code = 3DIGIT, 100..699 (RFC 4475 §3.1.2.19).
    if (sp - cs !== 3 || status < 100 || status > 699) {
      return new SipParseError('bad_status_code', `bad status code in: ${line.slice(0, 100)}`);
    }
    if (sp < n && line.charCodeAt(sp) !== SP) {
      return new SipParseError('bad_status_code', `bad status code in: ${line.slice(0, 100)}`);
    }
    while (sp < n && line.charCodeAt(sp) === SP) sp++;
    const res = new SipResponse(status, line.slice(sp), headers);
    res.version = version;
    return res;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF. Liberal: runs of SP, trailing SP (RFC 4475
  // §3.1.2.9, §3.1.2.10).
  const s1 = line.indexOf(' ');
  let end = n;
  while (end > 0 && line.charCodeAt(end - 1) === SP) end--;
  const s2 = line.lastIndexOf(' ', end - 1);
  if (s1 <= 0 || s2 <= s1)
    return new SipParseError('bad_start_line', `bad request line: ${line.slice(0, 100)}`);
  const method = line.slice(0, s1);
  let us = s1;
  while (us < s2 && line.charCodeAt(us) === SP) us++;
  let ue = s2;
  while (ue > us && line.charCodeAt(ue - 1) === SP) ue--;
  const uri = line.slice(us, ue);
  const version = normaliseVersion(line.slice(s2 + 1, end));
  if (!METHOD_OK.test(method) || uri.length === 0 || version === undefined) {
    return new SipParseError('bad_start_line', `bad request line: ${line.slice(0, 100)}`);
  }
  const req = new SipRequest(method, uri, headers);
  req.version = version;
  if (uri.indexOf(' ') >= 0) {
    // RFC 4475 §3.1.2.8: LWS inside the Request-URI. The line still splits, so a 400 can be sent.
    return new SipParseError('bad_start_line', `whitespace in Request-URI: ${line.slice(0, 100)}`, req);
  }
  return req;
}

/** `SIP/2.0` for any casing of it; the text of another well-formed SIP-Version; undefined if malformed. */
function normaliseVersion(v: string): string | undefined {
  if (v === 'SIP/2.0') return v;
  const m = VERSION.exec(v);
  if (m === null) return undefined;
  return m[1] === '2' && m[2] === '0' ? 'SIP/2.0' : v;
}

const NO_CSEQ_METHOD_CHECK = new Set(['ACK', 'CANCEL']);

interface HotIndex {
  viaAt: number;
  viaLines: number;
  fromAt: number;
  fromLines: number;
  toAt: number;
  toLines: number;
  callIdAt: number;
  callIdLines: number;
  cseqAt: number;
  cseqLines: number;
  mfAt: number;
  mfLines: number;
}

/**
 * Validate the headers every layer relies on, straight from the line indexes the split recorded, and hand the
 * parsed values to the message's accessors.
 */
function validate(msg: SipMessage, headers: SipHeader[], hot: HotIndex): void {
  if (msg.isRequest()) {
    // RFC 3261 §8.2.1: the Request-URI must parse; §19.1.1 Table 1: headers are not allowed in it
    // (RFC 4475 §3.1.2.11 — refuse rather than risk turning them into header fields).
    const ruri = msg.requestUri;
    if (isSipUri(ruri) && ruri.headers !== undefined) {
      throw new SipParseError('bad_uri', `headers in Request-URI: ${msg.uri.slice(0, 100)}`);
    }
  }
  // RFC 3261 §8.1.1, §8.2.6.2: Via, From, To, Call-ID, CSeq are mandatory; RFC 4475 §3.3.8 single-valued.
  if (hot.viaLines === 0) throw new SipParseError('missing_header', 'missing Via header');
  if (hot.fromLines > 1) throw new SipParseError('duplicate_header', 'more than one From header');
  if (hot.toLines > 1) throw new SipParseError('duplicate_header', 'more than one To header');
  if (hot.callIdLines > 1) throw new SipParseError('duplicate_header', 'more than one Call-ID header');
  if (hot.cseqLines > 1) throw new SipParseError('duplicate_header', 'more than one CSeq header');
  if (hot.mfLines > 1) throw new SipParseError('duplicate_header', 'more than one Max-Forwards header');
  if (hot.fromLines === 0) throw new SipParseError('missing_header', 'missing From header');
  if (hot.toLines === 0) throw new SipParseError('missing_header', 'missing To header');
  if (hot.callIdLines === 0) throw new SipParseError('missing_header', 'missing Call-ID header');
  if (hot.cseqLines === 0) throw new SipParseError('missing_header', 'missing CSeq header');

  // RFC 4475 §3.1.2.1: every Via value must parse, not just the top one.
  const via: Via[] = [];
  for (let i = hot.viaAt; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.name !== 'via') continue;
    const value = h.value;
    if (value.indexOf(',') < 0) via.push(parseVia(value));
    else for (const part of splitHeaderValues(value)) via.push(parseVia(part));
  }
  const cseq = parseCSeq(headers[hot.cseqAt]!.value);
  // RFC 3261 §8.1.1.5: the CSeq method matches the request method (RFC 4475 §3.1.2.17, §3.1.2.18).
  // GAP(RFC 3261 §17.1.1.3, §9.1): ACK and CANCEL are exempt here so a sloppy ACK is not lost; the
  // transaction layer matches them on the CSeq number.
  if (msg.isRequest() && cseq.method !== msg.method && !NO_CSEQ_METHOD_CHECK.has(msg.method)) {
    throw new SipParseError(
      'cseq_method_mismatch',
      `CSeq method ${cseq.method.slice(0, 40)} does not match ${msg.method.slice(0, 40)}`,
    );
  }
  const from = parseNameAddr(headers[hot.fromAt]!.value);
  const to = parseNameAddr(headers[hot.toAt]!.value);
  const callId = headers[hot.callIdAt]!.value;
  if (callId.length === 0) throw new SipParseError('bad_header', 'empty Call-ID');
  const maxForwards = hot.mfAt < 0 ? undefined : parseMaxForwards(headers[hot.mfAt]!.value);
  primeHotHeaders(msg, { via, from, to, callId, cseq, maxForwards });
}

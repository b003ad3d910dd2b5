import { SipParseError } from '../message/errors.js';
import { type MessageLimits, frameLength as parserFrameLength } from '../message/parse.js';

const CR = 0x0d;
const LF = 0x0a;
/** Smallest accumulation buffer allocated once a message straddles chunks. */
const MIN_CAPACITY = 4096;

export type FrameLengthFn = (buf: Buffer, start: number, limits: MessageLimits) => number;

/** Callbacks for one `push`. `frame` returns false to stop (e.g. the connection was closed by a handler). */
export interface FramerSink {
  frame(frame: Buffer): boolean;
  /** A CRLFCRLF keep-alive ping seen between messages (RFC 5626 §3.5.1). */
  ping(): void;
}

/**
 * Splits a byte stream into SIP messages by Content-Length (RFC 3261 §18.3, §7.5).
 *
 * Chunks are parsed in place; only the incomplete tail of a chunk is copied, into an accumulation buffer
 * that grows geometrically (amortised linear copying however the stream is split). Bytes already handed
 * out in a frame are never overwritten, so a frame (and the message body sliced from it) stays valid.
 * The end of the header section is searched incrementally, so a message trickled byte by byte costs linear
 * work until its header section is complete; only then is the parser's `frameLength` asked for the length.
 *
 * `push` throws SipParseError when the stream cannot be framed any more (no Content-Length, header section
 * or message over `maxMessageSize`); the connection must then be closed.
 */
export class StreamFramer {
  readonly #limits: MessageLimits;
  readonly #frameLength: FrameLengthFn;
  /**
   * Holds the pending bytes [#start, #end): either a chunk we were given (#end === length, so no spare room
   * and never written to) or our own accumulation buffer.
   */
  #buf: Buffer | undefined;
  #start = 0;
  #end = 0;
  /** Offset up to which HEADER_END was searched without success, for the message at #start. */
  #scanned = 0;
  /** Progress through "\r\n\r\n" among bytes skipped between messages. */
  #pingState = 0;

  constructor(limits: MessageLimits, frameLength: FrameLengthFn = parserFrameLength) {
    this.#limits = limits;
    this.#frameLength = frameLength;
  }

  /** Bytes held for an incomplete message. */
  get pendingBytes(): number {
    return this.#end - this.#start;
  }

  /** A copy of the pending bytes (at most `max`), for error reports. */
  pending(max = this.#limits.maxMessageSize): Buffer {
    if (this.#buf === undefined) return Buffer.alloc(0);
    return Buffer.from(this.#buf.subarray(this.#start, Math.min(this.#end, this.#start + max)));
  }

  /** Drop everything held (connection closing). */
  reset(): void {
    this.#buf = undefined;
    this.#start = this.#end = this.#scanned = 0;
    this.#pingState = 0;
  }

  push(chunk: Buffer, sink: FramerSink): void {
    if (chunk.length === 0) return;
    if (this.#buf === undefined) {
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      this.#scanned = 0;
    } else {
      this.#append(chunk);
    }
    try {
      this.#drain(sink);
    } finally {
      if (this.#start >= this.#end) this.#buf = undefined;
    }
  }

  #drain(sink: FramerSink): void {
    const maxSize = this.#limits.maxMessageSize;
    while (this.#start < this.#end) {
      const buf = this.#buf!;
      // RFC 3261 §7.5: CRLF before a start line is ignored on a stream; RFC 5626 §3.5.1: CRLFCRLF is a ping.
      let start = this.#start;
      const end = this.#end;
      while (start < end) {
        const b = buf[start]!;
        if (b !== CR && b !== LF) break;
        this.#advancePing(b, sink);
        start++;
      }
      if (start !== this.#start) {
        this.#start = start;
        this.#scanned = start;
      }
      if (start >= end) return;
      this.#pingState = 0;

      const view = end === buf.length ? buf : buf.subarray(0, end);
      const headerEnd = emptyLine(view, Math.max(start, this.#scanned - 2));
      if (headerEnd < 0) {
        this.#scanned = end;
        if (end - start > maxSize) {
          throw new SipParseError('too_large', `header section exceeds ${maxSize} bytes on stream`);
        }
        return;
      }
      const length = this.#frameLength(view, start, this.#limits);
      if (length < 0) {
        this.#scanned = headerEnd; // header section complete; waiting for the body
        if (end - start > maxSize) {
          throw new SipParseError('too_large', `message exceeds ${maxSize} bytes on stream`);
        }
        return;
      }
      if (length === 0 || length > maxSize) {
        throw new SipParseError('too_large', `message of ${length} bytes exceeds ${maxSize}`);
      }
      const frame = view.subarray(start, start + length);
      this.#start = start + length;
      this.#scanned = this.#start;
      if (!sink.frame(frame)) return;
    }
  }

  #advancePing(b: number, sink: FramerSink): void {
    const s = this.#pingState;
    const expectCr = s === 0 || s === 2;
    if (expectCr ? b === CR : b === LF) {
      this.#pingState = s + 1;
      if (this.#pingState === 4) {
        this.#pingState = 0;
        sink.ping();
      }
    } else {
      this.#pingState = b === CR ? 1 : 0;
    }
  }

  #append(chunk: Buffer): void {
    const buf = this.#buf!;
    const pending = this.#end - this.#start;
    if (this.#end + chunk.length <= buf.length) {
      chunk.copy(buf, this.#end);
      this.#end += chunk.length;
      return;
    }
    // New buffer: earlier frames may still reference the old one, so never write over it.
    const need = pending + chunk.length;
    const capacity = Math.max(MIN_CAPACITY, Math.min(need * 2, need + this.#limits.maxMessageSize));
    const next = Buffer.allocUnsafe(capacity);
    buf.copy(next, 0, this.#start, this.#end);
    chunk.copy(next, pending);
    this.#scanned = Math.max(0, this.#scanned - this.#start);
    this.#buf = next;
    this.#start = 0;
    this.#end = need;
  }
}

/**
 * Index of the LF that ends the last header line (an LF followed by LF or CRLF: the empty line, RFC 3261 §7;
 * bare LF line ends are accepted like the parser does), searching from `from`; -1 if not in `buf` yet.
 */
function emptyLine(buf: Buffer, from: number): number {
  const n = buf.length;
  let i = buf.indexOf(LF, from);
  while (i >= 0) {
    const next = buf[i + 1];
    if (next === LF || (next === CR && buf[i + 2] === LF)) return i;
    if (next === undefined || (next === CR && i + 2 >= n)) return -1;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

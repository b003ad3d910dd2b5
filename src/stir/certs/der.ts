/**
 * A minimal DER reader (ITU-T X.690 §8.1, §10): tag, length (short and long form), value offsets. No
 * copies: a node is a set of offsets into the caller's buffer. Enough to walk an X.509 certificate
 * (RFC 5280 §4.1) to one extension and to read small values; not a general ASN.1 decoder.
 *
 * Every read is bounds-checked against the enclosing node, so truncated or hostile input yields
 * `undefined`, never an exception or an out-of-range read.
 */

/** Universal and context tags used by the certificate code (X.690 §8.1.2, X.680 §8.4). */
export const DerTag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag byte of `[n]` context-specific, constructed (EXPLICIT tagging, or IMPLICIT of a constructed type). */
export function contextConstructed(n: number): number {
  return 0xa0 | n;
}

/** Tag byte of `[n]` context-specific, primitive (IMPLICIT tagging of a primitive type). */
export function contextPrimitive(n: number): number {
  return 0x80 | n;
}

/** One TLV: offsets into the buffer it was read from. */
export interface DerNode {
  /** The identifier octet (low-tag-number form only). */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first value octet. */
  readonly valueStart: number;
  /** Number of value octets. */
  readonly length: number;
  /** Offset just past the value (start of the next sibling). */
  readonly end: number;
}

/**
 * Read the TLV at `offset`, which must end at or before `limit` (default: end of buffer).
 * `undefined` for high-tag-number form, indefinite length (not DER), lengths over 2^32, or truncation.
 */
export function readNode(buf: Uint8Array, offset: number, limit: number = buf.length): DerNode | undefined {
  if (offset < 0 || offset + 2 > limit) return undefined;
  const tag = buf[offset]!;
  // X.690 §8.1.2.4: tag number 31 announces the high-tag-number form; X.509 never needs it.
  if ((tag & 0x1f) === 0x1f) return undefined;
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // X.690 §10.1: DER uses the definite form; n = 0 is the indefinite form. Cap at 4 length octets.
    if (n === 0 || n > 4 || p + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  const end = p + len;
  if (end > limit) return undefined;
  return { tag, start: offset, valueStart: p, length: len, end };
}

/** First child of a constructed node, or `undefined` when empty or malformed. */
export function firstChild(buf: Uint8Array, parent: DerNode): DerNode | undefined {
  if (parent.length === 0) return undefined;
  return readNode(buf, parent.valueStart, parent.end);
}

/** The sibling after `node` inside `parent`, or `undefined` at the end or on malformed input. */
export function nextSibling(buf: Uint8Array, parent: DerNode, node: DerNode): DerNode | undefined {
  if (node.end >= parent.end) return undefined;
  return readNode(buf, node.end, parent.end);
}

/**
 * All children of a constructed node; `undefined` when a child is malformed or the children do not
 * exactly fill the parent's value.
 */
export function children(buf: Uint8Array, parent: DerNode): DerNode[] | undefined {
  const out: DerNode[] = [];
  let p = parent.valueStart;
  while (p < parent.end) {
    const child = readNode(buf, p, parent.end);
    if (!child) return undefined;
    out.push(child);
    p = child.end;
  }
  return out;
}

/** The value octets of `node` as a view (no copy). */
export function valueBytes(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.valueStart, node.end);
}

/** The whole TLV (identifier, length and value) as a view (no copy). */
export function encodedOf(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.start, node.end);
}

/** Value of a string-typed node read as Latin-1 (IA5String/PrintableString are 7-bit subsets). */
export function readAscii(buf: Uint8Array, node: DerNode): string {
  let s = '';
  for (let i = node.valueStart; i < node.end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/**
 * Value of an INTEGER node as a number; `undefined` when negative, empty, or above 2^53 - 1
 * (X.690 §8.3: two's complement, big-endian).
 */
export function readSmallInteger(buf: Uint8Array, node: DerNode): number | undefined {
  if (node.length === 0 || node.length > 7) return undefined;
  if (buf[node.valueStart]! & 0x80) return undefined;
  let v = 0;
  for (let i = node.valueStart; i < node.end; i++) v = v * 256 + buf[i]!;
  return Number.isSafeInteger(v) ? v : undefined;
}

/** Encode a dotted OID as the value octets of an OBJECT IDENTIFIER (X.690 §8.19), without tag and length. */
export function encodeOidValue(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new TypeError(`invalid OID ${oid}`);
  }
  const out: number[] = [];
  const push = (v: number): void => {
    const tmp: number[] = [v & 0x7f];
    let x = Math.floor(v / 128);
    while (x > 0) {
      tmp.unshift((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    out.push(...tmp);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (let i = 2; i < arcs.length; i++) push(arcs[i]!);
  return Uint8Array.from(out);
}

/** Dotted form of an OBJECT IDENTIFIER node (X.690 §8.19); `undefined` when malformed. */
export function readOid(buf: Uint8Array, node: DerNode): string | undefined {
  if (node.tag !== DerTag.OID || node.length === 0) return undefined;
  const arcs: number[] = [];
  let v = 0;
  for (let i = node.valueStart; i < node.end; i++) {
    const b = buf[i]!;
    v = v * 128 + (b & 0x7f);
    if (!Number.isSafeInteger(v)) return undefined;
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        arcs.push(first, v - first * 40);
      } else {
        arcs.push(v);
      }
      v = 0;
    }
  }
  if (buf[node.end - 1]! & 0x80) return undefined;
  return arcs.join('.');
}

/** True when the value octets of `node` equal `expected` (compare an OID without building strings). */
export function valueEquals(buf: Uint8Array, node: DerNode, expected: Uint8Array): boolean {
  if (node.length !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) {
    if (buf[node.valueStart + i] !== expected[i]) return false;
  }
  return true;
}

/** Encode one TLV with a definite length (for building small test fixtures and extensions). */
export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const n = value.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(header.length + n);
  out.set(header, 0);
  out.set(value, header.length);
  return out;
}

/** Concatenate byte arrays (fixture building). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

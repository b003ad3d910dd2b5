/**
 * Which worker owns a SIP datagram, decided from its Call-ID before it is parsed.
 *
 * Every message of a dialog and of its transactions carries the same Call-ID (RFC 3261 §8.1.1.4, §12.1.1,
 * §17.1.3: the ACK and CANCEL of an INVITE copy it), so hashing the Call-ID sends an INVITE, its
 * retransmissions, its CANCEL and ACK, and every in-dialog request and response to the one worker holding the
 * call's state. B-leg Call-IDs are chosen by the owning worker so that they hash to it (`callIdOwnedBy`).
 *
 * The scan is deliberately shallow: it finds the first `Call-ID` (or compact `i`, RFC 3261 §7.3.3) header
 * of the header section, tolerating any letter case, whitespace before the colon (§7.3.1) and a value folded
 * onto the next line. Whatever it cannot find is handled by the worker that read it, which answers a
 * malformed message with 400 as a single process would.
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** FNV-1a, 32 bit: fast on short ASCII and well spread for random Call-IDs. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The hash of a Call-ID given as a string (ASCII; the same value `callIdHashOf` finds in the bytes). */
export function callIdHash(callId: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < callId.length; i++) {
    h ^= callId.charCodeAt(i) & 0xff;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) {
    h ^= buf[i]!;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** Worker index (0..workers-1) owning a Call-ID. */
export function ownerOfCallId(callId: string, workers: number): number {
  return callIdHash(callId) % workers;
}

/**
 * The hash of the first Call-ID header value in a datagram, or -1 when there is none in the header section
 * (or the datagram is not SIP-shaped). Allocates nothing.
 */
export function callIdHashOf(buf: Uint8Array): number {
  const n = buf.length;
  // Skip the start line.
  let pos = buf.indexOf(LF);
  if (pos < 0) return -1;
  pos++;
  while (pos < n) {
    const c = buf[pos]!;
    if (c === CR || c === LF) return -1; // end of the header section
    const colon = nameEnd(buf, pos, n);
    if (colon > 0) return valueHash(buf, colon + 1, n);
    const next = buf.indexOf(LF, pos);
    if (next < 0) return -1;
    pos = next + 1;
  }
  return -1;
}

/** Worker index owning a datagram, or -1 when it has no Call-ID this scan can find. */
export function ownerOfDatagram(buf: Uint8Array, workers: number): number {
  const h = callIdHashOf(buf);
  return h < 0 ? -1 : h % workers;
}

// Lower-case "call-id".
const CALL_ID = [0x63, 0x61, 0x6c, 0x6c, 0x2d, 0x69, 0x64];

/** Position of the colon when the line at `pos` is a Call-ID header (long or compact name), else -1. */
function nameEnd(buf: Uint8Array, pos: number, n: number): number {
  let p = pos;
  const first = buf[p]! | 0x20;
  if (first === 0x69) {
    p++; // compact "i"
  } else if (first === 0x63) {
    if (p + CALL_ID.length > n) return -1;
    for (let k = 0; k < CALL_ID.length; k++) {
      const b = buf[p + k]!;
      // '-' has no case; letters compare case-insensitively.
      if ((b === 0x2d ? b : b | 0x20) !== CALL_ID[k]) return -1;
    }
    p += CALL_ID.length;
  } else {
    return -1;
  }
  while (p < n && (buf[p] === SP || buf[p] === HT)) p++;
  return p < n && buf[p] === COLON ? p : -1;
}

/** Hash of the value starting after the colon: leading LWS (including one fold) skipped, trailing LWS cut. */
function valueHash(buf: Uint8Array, from: number, n: number): number {
  let p = from;
  for (;;) {
    while (p < n && (buf[p] === SP || buf[p] === HT)) p++;
    // A fold: CRLF (or bare LF) followed by whitespace continues the header (RFC 3261 §7.3.1).
    let q = p;
    if (buf[q] === CR) q++;
    if (buf[q] === LF && (buf[q + 1] === SP || buf[q + 1] === HT)) {
      p = q + 1;
      continue;
    }
    break;
  }
  let end = p;
  while (end < n && buf[end] !== CR && buf[end] !== LF) end++;
  while (end > p && (buf[end - 1] === SP || buf[end - 1] === HT)) end--;
  if (end === p) return -1;
  return hashBytes(buf, p, end);
}

/**
 * A fresh Call-ID owned by `worker`: draws from `generate` until one hashes to it (on average `workers`
 * draws). With one worker the first draw is returned.
 */
export function callIdOwnedBy(worker: number, workers: number, generate: () => string): string {
  for (;;) {
    const id = generate();
    if (workers <= 1 || ownerOfCallId(id, workers) === worker) return id;
  }
}

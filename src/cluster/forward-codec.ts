/**
 * The envelope a worker wraps around a datagram it read but does not own, to hand it to the owning worker
 * over loopback UDP. It carries what the owner needs to process the datagram as if it had read it itself:
 * the peer's address and port and which of our SIP sockets it arrived on.
 *
 *   0   4  magic "SGF1"
 *   4   8  cluster token (random per primary start; loopback datagrams without it are dropped)
 *  12   2  peer port
 *  14   2  local (SIP socket) port
 *  16   1  peer address length P
 *  17   1  local address length L
 *  18   P  peer address (ASCII)
 *  18+P L  local address (ASCII)
 *  ...     the datagram, unchanged
 */
import type { Endpoint } from '../sip/transport/types.js';

const MAGIC = 0x53474631; // "SGF1"
export const TOKEN_BYTES = 8;
const FIXED = 18;

export interface Forwarded {
  readonly remote: Endpoint;
  readonly local: Endpoint;
  readonly datagram: Buffer;
}

/** The envelope without the datagram: sent as [header, datagram] (one sendmsg, no copy of the datagram). */
export function forwardHeader(token: Buffer, remote: Endpoint, local: Endpoint): Buffer {
  return write(token, remote, local, 0);
}

/** Header and datagram in one buffer. */
export function encodeForward(token: Buffer, remote: Endpoint, local: Endpoint, datagram: Buffer): Buffer {
  const out = write(token, remote, local, datagram.length);
  datagram.copy(out, out.length - datagram.length);
  return out;
}

function write(token: Buffer, remote: Endpoint, local: Endpoint, extra: number): Buffer {
  if (token.length !== TOKEN_BYTES) throw new RangeError(`cluster token must be ${TOKEN_BYTES} bytes`);
  const p = Buffer.byteLength(remote.address, 'latin1');
  const l = Buffer.byteLength(local.address, 'latin1');
  if (p > 255 || l > 255) throw new RangeError('address too long for the forward envelope');
  const out = Buffer.allocUnsafe(FIXED + p + l + extra);
  out.writeUInt32BE(MAGIC, 0);
  token.copy(out, 4);
  out.writeUInt16BE(remote.port, 12);
  out.writeUInt16BE(local.port, 14);
  out[16] = p;
  out[17] = l;
  out.write(remote.address, FIXED, p, 'latin1');
  out.write(local.address, FIXED + p, l, 'latin1');
  return out;
}

/** The forwarded datagram, or undefined when `buf` is not an envelope carrying `token`. */
export function decodeForward(token: Buffer, buf: Buffer): Forwarded | undefined {
  if (buf.length < FIXED || buf.readUInt32BE(0) !== MAGIC) return undefined;
  if (buf.compare(token, 0, TOKEN_BYTES, 4, 4 + TOKEN_BYTES) !== 0) return undefined;
  const p = buf[16]!;
  const l = buf[17]!;
  const body = FIXED + p + l;
  if (body > buf.length) return undefined;
  return {
    remote: { address: buf.toString('latin1', FIXED, FIXED + p), port: buf.readUInt16BE(12) },
    local: { address: buf.toString('latin1', FIXED + p, body), port: buf.readUInt16BE(14) },
    datagram: buf.subarray(body),
  };
}

/** Largest datagram that still fits an envelope in one UDP datagram (IPv4 loopback). */
export function maxForwardable(remote: Endpoint, local: Endpoint): number {
  return 65_507 - FIXED - remote.address.length - local.address.length;
}

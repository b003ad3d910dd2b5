import type { SipRequest } from '../message/message.js';

/** RFC 3261 §8.1.1.7: branches created by RFC 3261 elements start with this. */
export const MAGIC_COOKIE = 'z9hG4bK';

export function isRfc3261Branch(branch: string | undefined): branch is string {
  return branch !== undefined && branch.length > MAGIC_COOKIE.length && branch.startsWith(MAGIC_COOKIE);
}

/** RFC 3261 §17.1.3: a response matches the client transaction with its top Via branch and CSeq method. */
export function clientKey(branch: string, method: string): string {
  return `${branch}\u0000${method}`;
}

export interface ServerKey {
  readonly key: string;
  /** True when matched by branch (RFC 3261 §17.2.3); false for the RFC 2543 rules. */
  readonly rfc3261: boolean;
  /** Top Via branch, if any. */
  readonly branch: string | undefined;
}

/** What a server transaction keeps to be matched once it has released its request. */
export interface ServerMatch {
  /** The layer's map key (see `serverKey`), kept so release() can delete exactly this entry. */
  readonly key: string;
  /**
   * RFC 2543 peers only: the request's To tag, compared with a retransmission's or a CANCEL's (RFC 3261
   * §17.2.3). Undefined for magic-cookie branches (matched by key alone) and requests without a To tag.
   */
  readonly rfc2543ToTag: string | undefined;
}

/**
 * RFC 3261 §17.2.3 server transaction key for `req` looked up as `method` (INVITE for an ACK or a
 * CANCEL looking for its INVITE).
 *
 * - With a magic-cookie branch: branch + sent-by + method.
 * - Otherwise (RFC 2543 peers): Request-URI, From tag, Call-ID, CSeq number, top Via and method. The To tag
 *   is compared by the caller against what the transaction saw: the request's To tag for retransmissions
 *   and CANCEL, the To tag of our response for ACK.
 *
 * Reads the hot accessors, which throw SipParseError on a malformed header.
 */
export function serverKey(req: SipRequest, method: string): ServerKey {
  const via = req.topVia;
  if (via === undefined) throw new RangeError('request without Via');
  const branch = via.branch;
  if (isRfc3261Branch(branch)) {
    const sentBy = `${via.host.toLowerCase()}:${via.port ?? ''}`;
    return { key: `1\u0000${branch}\u0000${sentBy}\u0000${method}`, rfc3261: true, branch };
  }
  // GAP(RFC 3261 §17.2.3): the RFC 2543 rules compare Request-URI and Via as received text, not with the
  // URI equality of §19.1.4 — a retransmission is byte-identical, which is what these rules exist for.
  const key = [
    '2',
    req.uri,
    req.from.tag ?? '',
    req.callId,
    String(req.cseq.seq),
    method,
    req.get('via') ?? '',
  ].join('\u0000');
  return { key, rfc3261: false, branch };
}

/**
 * Key that routes an ACK for a 2xx to the INVITE server transaction that sent the 2xx (RFC 3261 §13.3.1.4,
 * RFC 6026 §7.1): the dialog (Call-ID, From tag, the 2xx's To tag) and the INVITE's CSeq number.
 */
export function ackKey(
  callId: string,
  seq: number,
  fromTag: string | undefined,
  toTag: string | undefined,
): string {
  return `${callId}\u0000${seq}\u0000${fromTag ?? ''}\u0000${toTag ?? ''}`;
}

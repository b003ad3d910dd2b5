import type { SipRequest } from '../sip/message/message.js';
import { uriUserNumber } from '../sip/message/uri.js';
import { canonicalizeTn } from '../stir/tn.js';

/**
 * The numbers STIR works on, taken from SIP (RFC 8224 §8.3, ATIS-1000074 §5.2.1): the calling number from
 * P-Asserted-Identity (RFC 3325), else From; the called number from the Request-URI, else To. Returned
 * raw (visual separators, `+` kept); canonicalisation is STIR's job (src/stir/tn.ts).
 */
export function callingNumber(req: SipRequest): string | undefined {
  // RFC 3325 §9.1: PAI may hold a sip URI and a tel URI; take the first that carries a telephone number.
  let first: string | undefined;
  for (const pai of req.pAssertedIdentity) {
    const n = uriUserNumber(pai.uri);
    if (n === undefined || n.length === 0) continue;
    if (canonicalizeTn(n) !== undefined) return n;
    first ??= n;
  }
  return first ?? uriUserNumber(req.from.uri);
}

/** Candidates for the called number, Request-URI first then To (either may match dest.tn). */
export function calledNumbers(req: SipRequest): string[] {
  const out: string[] = [];
  const r = uriUserNumber(req.requestUri);
  if (r !== undefined && r.length > 0) out.push(r);
  const t = uriUserNumber(req.to.uri);
  if (t !== undefined && t.length > 0 && t !== r) out.push(t);
  return out;
}

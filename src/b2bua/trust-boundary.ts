import { splitHeaderValues } from '../sip/message/headers.js';
import type { SipRequest } from '../sip/message/message.js';
import { removeVerstat } from './verstat.js';

/**
 * The STIR trust boundary on a B-leg INVITE. What a peer says about verification is a claim nobody checked:
 * passed on, the callee would be told that a call we failed (or never verified) was verified. Before our own
 * verification outcome is written, every claim of the peer goes:
 *   - `verstat`, wherever it is written in From and P-Asserted-Identity (3GPP TS 24.229 §7.2A.20: only the
 *     terminating network's verification service sets it);
 *   - the attestation header the trunk uses to tell the callee the verified level (docs/config.md
 *     `verification.attestation_header`);
 *   - `Reason: STIR` values (RFC 8224 §6.2.2, RFC 9410): the cause of a failed verification is ours to give.
 * Other Reason values (Q.850, SIP) cross unchanged.
 */
export interface TrustBoundary {
  /** Canonical (lower-case) name of the attestation header; '' when the trunk writes none. */
  readonly attestationHeader: string;
}

/**
 * The boundary of a trunk: STIR trunks (originating: we sign; terminating: we verify) have one, passthrough
 * trunks relay what they get. Only a terminating trunk writes an attestation header of its own.
 */
export function trustBoundaryOf(
  role: 'originating' | 'terminating' | 'passthrough',
  attestationHeader: string | undefined,
): TrustBoundary | undefined {
  if (role === 'passthrough') return undefined;
  return { attestationHeader: role === 'terminating' ? (attestationHeader ?? '') : '' };
}

export function removePeerVerificationClaims(req: SipRequest, boundary: TrustBoundary): void {
  removeVerstat(req);
  if (boundary.attestationHeader !== '') req.remove(boundary.attestationHeader);
  removeStirReasons(req);
}

const STIR_PROTOCOL = /^\s*stir\s*(;|$)/i;

/** Drop the `STIR` values of every Reason header (RFC 3326 §2: `Reason: protocol;params, ...`), keep the rest. */
export function removeStirReasons(req: SipRequest): void {
  let changed = false;
  for (let i = req.headers.length - 1; i >= 0; i--) {
    const h = req.headers[i]!;
    if (h.name !== 'reason' || !/stir/i.test(h.value)) continue;
    const kept = splitHeaderValues(h.value).filter((v) => !STIR_PROTOCOL.test(v));
    if (kept.length === 0) req.headers.splice(i, 1);
    else req.headers[i] = { ...h, value: kept.join(', ') };
    changed = true;
  }
  if (changed) req.invalidate();
}

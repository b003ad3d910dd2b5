import {
  formatStirReason,
  hasStirReason,
  VERIFY_OUTCOMES,
  type VerifyCode,
  type VerifyOutcome,
  type Verstat,
} from '../stir/codes.js';
import type { VerifyResult } from '../stir/verifier.js';

/**
 * What to do with a verification result on a terminating trunk (ATIS-1000074 §5.3.2): the verifier reports,
 * this pure function decides. Default is mark-and-continue; rejecting is an explicit per-trunk choice.
 */

export interface VerificationProfile {
  /** 'mark': continue with verstat + Reason; 'reject': answer failures with the table's status. */
  readonly onFailure: 'mark' | 'reject';
  /** RFC 8224 §6.2: a missing Identity header (or none with a supported ppt) is answered 428. */
  readonly requireIdentity: boolean;
}

export const DEFAULT_VERIFICATION_PROFILE: VerificationProfile = Object.freeze({
  onFailure: 'mark',
  requireIdentity: false,
});

export type VerificationDecision =
  | {
      readonly action: 'continue';
      /** 3GPP TS 24.229 §7.2A.20: verstat for the calling-number URI of the B-leg. */
      readonly verstat: Verstat;
      /**
       * When the call continues after a failure, the cause travels with it in a Reason header on the
       * forwarded INVITE (RFC 9410 §3 form), so the terminating side sees why verstat is Failed.
       * GAP(ATIS-1000074 §5.3.2): the Reason is not also copied into responses towards the originator.
       */
      readonly reason?: string;
    }
  | {
      readonly action: 'reject';
      readonly status: number;
      readonly reasonPhrase: string;
      /** Reason header value for the rejection (RFC 9410 §3). */
      readonly reason: string;
    };

/** How each code is treated: 'pass', 'absent' (no Identity to check), 'failure', 'ours' (never reject). */
type Disposition = 'pass' | 'absent' | 'failure' | 'ours';

const DISPOSITION = {
  passed: 'pass',
  no_identity: 'absent',
  unsupported_ppt: 'absent',
  malformed: 'failure',
  unsupported_alg: 'failure',
  bad_typ: 'failure',
  missing_claim: 'failure',
  bad_claim: 'failure',
  stale: 'failure',
  future_iat: 'failure',
  x5u_disallowed: 'failure',
  info_mismatch: 'failure',
  cert_fetch_failed: 'failure',
  cert_untrusted: 'failure',
  cert_expired: 'failure',
  no_tnauthlist: 'failure',
  bad_signature: 'failure',
  orig_mismatch: 'failure',
  dest_mismatch: 'failure',
  replay: 'failure',
  // An internal error is not evidence against the caller: never block a legitimate call by accident.
  internal_error: 'ours',
} as const satisfies Record<VerifyCode, Disposition>;

function reject(code: VerifyCode): VerificationDecision {
  const o: VerifyOutcome = VERIFY_OUTCOMES[code];
  const reason = hasStirReason(code) ? formatStirReason(code) : `STIR;text="${o.text}"`;
  return { action: 'reject', status: o.status, reasonPhrase: o.text, reason };
}

/** Turn a result + trunk profile into continue/reject. Pure; exhaustive over VerifyCode. */
export function decideVerification(
  result: Pick<VerifyResult, 'code'>,
  profile: VerificationProfile = DEFAULT_VERIFICATION_PROFILE,
): VerificationDecision {
  const code = result.code;
  const o: VerifyOutcome = VERIFY_OUTCOMES[code];
  switch (DISPOSITION[code]) {
    case 'pass':
      return { action: 'continue', verstat: o.verstat };
    case 'absent':
      // RFC 8224 §6.2: 428 only when local policy requires an Identity header.
      if (profile.requireIdentity) return reject(code);
      return { action: 'continue', verstat: o.verstat };
    case 'ours':
      return { action: 'continue', verstat: o.verstat };
    case 'failure':
      if (profile.onFailure === 'reject') return reject(code);
      return hasStirReason(code)
        ? { action: 'continue', verstat: o.verstat, reason: formatStirReason(code) }
        : { action: 'continue', verstat: o.verstat };
  }
}

/**
 * Verification outcomes (RFC 8224 §6.2 verification service) as one closed union, and the single table that
 * maps each to the SIP response, the STIR Reason cause (RFC 9410 §3) and the verstat value (3GPP TS 24.229
 * §7.2A.20). The code strings double as metric label values and log fields.
 */

/** Every outcome of `Verifier.verify`. Adding a member without a row in VERIFY_OUTCOMES fails the type check. */
export type VerifyCode =
  | 'passed'
  /** No Identity header at all. */
  | 'no_identity'
  /** Identity headers present, none with a supported ppt (RFC 8224 §6.2: treated like no Identity). */
  | 'unsupported_ppt'
  /** Header value or JWS unparseable: syntax, base64url, JSON, compact form that cannot be rebuilt. */
  | 'malformed'
  /** PASSporT `alg` other than ES256 (RFC 8588 §4 / ATIS-1000074 §5.3.1). */
  | 'unsupported_alg'
  /** PASSporT `typ` present and not `passport` (RFC 8225 §5.1.1). */
  | 'bad_typ'
  /** A required SHAKEN claim or header parameter is absent (RFC 8588 §6, ATIS-1000074 §5.2). */
  | 'missing_claim'
  /** A claim has the wrong JSON type or value (e.g. `iat` as a string, attest `D`). */
  | 'bad_claim'
  /** `iat` older than the freshness window (RFC 8224 §6.2.2 / ATIS-1000074 §5.3.1 step 2). */
  | 'stale'
  /** `iat` further in the future than the allowed skew. */
  | 'future_iat'
  /** The x5u URL (or a resolved address) is refused by the x5u policy, before any packet is sent. */
  | 'x5u_disallowed'
  /** The `info` parameter names a different URL than the PASSporT `x5u` (RFC 8224 §4.1). */
  | 'info_mismatch'
  /** Dereferencing x5u failed: timeout, non-200, oversize body, no certificate in the body. */
  | 'cert_fetch_failed'
  /** The certificate does not chain to a trusted STI-CA, or is revoked. */
  | 'cert_untrusted'
  /** A certificate in the chain is outside its validity period at `iat` or now. */
  | 'cert_expired'
  /** The leaf has no TNAuthList extension (RFC 8226 §9, ATIS-1000080 §6.3). */
  | 'no_tnauthlist'
  /** ECDSA P-256 signature does not verify over the received signing input. */
  | 'bad_signature'
  /** `orig.tn` is not the calling number. */
  | 'orig_mismatch'
  /** No `dest.tn` entry is the called number. */
  | 'dest_mismatch'
  /** The same PASSporT was seen already within the freshness window. */
  | 'replay'
  /** A bug or resource failure inside the verifier. Never the signer's fault. */
  | 'internal_error';

export type Verstat = 'TN-Validation-Passed' | 'TN-Validation-Failed' | 'No-TN-Validation';

/** STIR Reason causes (RFC 9410 §3 reuses the RFC 8224 response codes). */
export type StirCause = 403 | 428 | 436 | 437 | 438;

export interface VerifyOutcome {
  /** SIP status when policy rejects. */
  readonly status: number;
  /** Cause for `Reason: STIR;cause=...` when policy continues; null = no Reason is sent. */
  readonly reasonCause: StirCause | null;
  /** Reason phrase for the status line and the Reason `text`. */
  readonly text: string;
  readonly verstat: Verstat;
}

// ATIS-1000074 §5.3.2 recommended reason phrases; RFC 8224 §13.2 renames 437 "Unsupported Credential" and
// allows "Invalid PASSporT" as the 438 phrase when required claims are missing.
const STALE = { status: 403, reasonCause: 403, text: 'Stale Date', verstat: 'TN-Validation-Failed' } as const;
const BAD_INFO = {
  status: 436,
  reasonCause: 436,
  text: 'Bad Identity Info',
  verstat: 'TN-Validation-Failed',
} as const;
const UNSUPPORTED = {
  status: 437,
  reasonCause: 437,
  text: 'Unsupported Credential',
  verstat: 'TN-Validation-Failed',
} as const;
const INVALID = {
  status: 438,
  reasonCause: 438,
  text: 'Invalid Identity Header',
  verstat: 'TN-Validation-Failed',
} as const;
const INVALID_PASSPORT = { ...INVALID, text: 'Invalid PASSporT' } as const;
const USE_IDENTITY = {
  status: 428,
  reasonCause: 428,
  text: 'Use Identity Header',
  verstat: 'No-TN-Validation',
} as const;

/** The one table from VerifyCode to response, Reason cause and verstat. */
export const VERIFY_OUTCOMES = {
  passed: { status: 200, reasonCause: null, text: 'OK', verstat: 'TN-Validation-Passed' },
  // RFC 8224 §6.2: 428 when no Identity header with a supported ppt is present and policy requires one.
  no_identity: USE_IDENTITY,
  unsupported_ppt: USE_IDENTITY,
  // RFC 8224 §6.2.2: 438 when no Identity header carries a valid and supported PASSporT.
  malformed: INVALID,
  // RFC 8224 §6.2.2: 437 for a credential signed with an algorithm the verifier does not support.
  unsupported_alg: UNSUPPORTED,
  bad_typ: INVALID,
  // ATIS-1000074 §5.3.2: missing base or SHAKEN claims are a 438.
  missing_claim: INVALID_PASSPORT,
  bad_claim: INVALID_PASSPORT,
  // RFC 8224 §6.2.2 / ATIS-1000074 §5.3.2: 403 Stale Date, also for `iat` outside local freshness policy.
  stale: STALE,
  future_iat: STALE,
  // RFC 8224 §6.2.2: 436 when the credential cannot be acquired.
  x5u_disallowed: BAD_INFO,
  info_mismatch: BAD_INFO,
  cert_fetch_failed: BAD_INFO,
  // RFC 8224 §6.2.2: 437 when the credential is held but not supported (untrusted CA, ...).
  cert_untrusted: UNSUPPORTED,
  cert_expired: UNSUPPORTED,
  no_tnauthlist: UNSUPPORTED,
  bad_signature: INVALID,
  orig_mismatch: INVALID,
  dest_mismatch: INVALID,
  replay: INVALID,
  // Our own failure: nothing to tell the signer, nothing validated.
  internal_error: {
    status: 500,
    reasonCause: null,
    text: 'Verification Unavailable',
    verstat: 'No-TN-Validation',
  },
} as const satisfies Record<VerifyCode, VerifyOutcome>;

/** All codes, in table order (for tests, metrics pre-registration, docs). */
export const VERIFY_CODES = Object.freeze(Object.keys(VERIFY_OUTCOMES) as VerifyCode[]);

/** Codes whose outcome carries a STIR Reason cause. */
export type StirReasonCode = {
  [C in VerifyCode]: (typeof VERIFY_OUTCOMES)[C]['reasonCause'] extends null ? never : C;
}[VerifyCode];

/** The `Reason` header value for a failure (RFC 9410 §3): `STIR;cause=436;text="Bad Identity Info"`. */
export function formatStirReason(code: StirReasonCode): string {
  const o: VerifyOutcome = VERIFY_OUTCOMES[code];
  return `STIR;cause=${o.reasonCause};text="${o.text}"`;
}

export function hasStirReason(code: VerifyCode): code is StirReasonCode {
  return VERIFY_OUTCOMES[code].reasonCause !== null;
}

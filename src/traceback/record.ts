import type { CallEndCause, RefusalCause, TracebackRole } from '../events.js';
import type { VerifyCode, Verstat } from '../stir/codes.js';

/**
 * One call on record (docs/traceback.md): what Stirgate did with an initial INVITE and who sent it. Built from
 * the `stirgate:traceback` events (src/events.ts): the call event makes the record, the end event completes
 * it. Field names are the API's (`GET /v1/traceback`, `stirgate traceback --json`); times are epoch ms here
 * and ISO 8601 in the API.
 */
export interface TracebackRecord {
  /** The call's key: unique per call and per process run (`<run>-<n>`). */
  readonly id: string;
  /** A-leg INVITE received, epoch ms. */
  readonly time: number;
  readonly role: TracebackRole;
  readonly customer: string | null;
  readonly trunk: string;
  readonly trunkRole: 'originating' | 'terminating' | 'passthrough' | 'unmatched';
  readonly source: { readonly address: string; readonly port: number; readonly transport: 'udp' | 'tcp' };
  /** The A-leg Call-ID (the caller's). */
  readonly callId: string;
  /** The B-leg Call-ID and next hop the call ended on (after a failover, the last ones). */
  readonly bCallId: string | null;
  readonly nextHop: string | null;
  readonly calling: { readonly received: string | null; readonly canonical: string | null };
  readonly called: { readonly received: string | null; readonly canonical: string | null };
  /** Calls we signed (ATIS-1000074 §5.2): `digest` is SHA-256 of the PASSporT's compact form, base64url. */
  readonly signed: {
    readonly attest: 'A' | 'B' | 'C';
    readonly origid: string;
    readonly iat: number;
    readonly digest: string;
  } | null;
  /** Calls we verified (RFC 8224 §6.2): `spc` and `subject` of the signer's certificate name who to ask upstream. */
  readonly verified: {
    readonly code: VerifyCode;
    readonly verstat: Verstat;
    readonly attest: string | null;
    readonly origid: string | null;
    readonly iat: number | null;
    readonly x5u: string | null;
    readonly spc: string | null;
    readonly subject: string | null;
  } | null;
  readonly refused: {
    readonly status: number;
    readonly cause: RefusalCause;
    readonly detail: string | null;
  } | null;
  /** Filled in when the call ends. */
  readonly end: {
    readonly time: number;
    readonly answered: boolean;
    readonly status: number | null;
    readonly durationMs: number | null;
    readonly cause: CallEndCause;
  } | null;
}

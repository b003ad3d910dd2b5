import type { Config, TrunkRoleName } from '../config/types.js';
import type { CallEndCause, CertCacheEvent, SendFailureWhat, UnsignedReason } from '../events.js';
import type { PolicyRefusalCause } from '../policy/admission-counters.js';
import type { SipParseErrorCode } from '../sip/message/errors.js';
import { STATUS_CLASS_LABELS } from '../sip/message-tally.js';
import type { TimeoutTimer } from '../sip/transaction/transaction-events.js';
import type { TransportErrorCode, TransportProtocol } from '../sip/transport/types.js';
import type { CertFailureCode } from '../stir/certs/cert-cache.js';
import type { Attestation } from '../stir/passport.js';
import type { SignErrorCode } from '../stir/signer.js';

/**
 * Label values for Stirgate metrics. Every label is low-cardinality: closed unions from the core, or values
 * a peer chooses folded into a known set (`other`). Never numbers, Call-IDs or URLs.
 *
 * Lists below are checked for exhaustiveness against the core's unions: adding a code to the core without
 * listing it here fails the type check (so zero-initialised series stay complete).
 */

/** `allOf<Union>()([...])`: a runtime list of every member of a string union, checked by the compiler. */
export function allOf<T extends string>() {
  return <const L extends readonly T[]>(
    list: L &
      ([Exclude<T, L[number]>] extends [never] ? unknown : { readonly missing: Exclude<T, L[number]> }),
  ): readonly T[] => list;
}

export const SIGN_FAILURE_CODES = allOf<SignErrorCode>()([
  'no_calling_number',
  'no_called_number',
  'invalid_input',
  'sign_failed',
]);

export const CERT_FAILURE_CODES = allOf<CertFailureCode>()([
  'x5u_disallowed',
  'cert_fetch_failed',
  'cert_untrusted',
  'no_tnauthlist',
  'cert_expired',
]);

export type CacheLookupResult = Exclude<CertCacheEvent['kind'], 'fetch_error'>;
export const CACHE_LOOKUP_RESULTS = allOf<CacheLookupResult>()(['hit', 'negative_hit', 'stale', 'miss']);

export const PROTOCOLS = allOf<TransportProtocol>()(['udp', 'tcp']);

export const PARSE_ERROR_CODES = allOf<SipParseErrorCode>()([
  'too_large',
  'too_many_headers',
  'line_too_long',
  'incomplete',
  'bad_start_line',
  'bad_version',
  'bad_status_code',
  'bad_header',
  'bad_octets',
  'missing_header',
  'duplicate_header',
  'bad_content_length',
  'bad_cseq',
  'cseq_method_mismatch',
  'bad_max_forwards',
  'bad_via',
  'bad_uri',
  'bad_name_addr',
]);

export const TIMEOUT_TIMERS = allOf<TimeoutTimer>()(['B', 'F', 'H', 'cancel', 'ack', 'guard']);

export const TRANSPORT_ERROR_CODES = allOf<TransportErrorCode>()([
  'connect_failed',
  'connect_timeout',
  'connection_closed',
  'send_failed',
  'no_listener',
]);

export const TRUNK_ROLES = allOf<TrunkRoleName>()(['originating', 'terminating', 'passthrough']);

export const ATTESTATIONS = allOf<Attestation>()(['A', 'B', 'C']);

export const UNSIGNED_REASONS = allOf<UnsignedReason>()([
  'no_calling_number',
  'unknown_customer',
  'sign_failed',
  'kept_customer_identity',
]);

export const SEND_FAILURE_WHATS = allOf<SendFailureWhat>()(['ack', 'bye', 'response', 'request']);

/** B2BUA call end causes (src/events.ts `CallEndCause`, the B2BUA's `#end`). */
export const CALL_END_CAUSES = allOf<CallEndCause>()([
  'bye',
  'cancelled',
  'failed',
  'rejected',
  'no_route',
  'ack_timeout',
  'shutdown',
  'unanswered',
  'connection_lost',
  'session_expired',
  'max_duration',
]);
const CALL_END_CAUSE_SET: ReadonlySet<string> = new Set(CALL_END_CAUSES);

/** A cause outside `CallEndCause` (a publisher not yet typed by the catalog) is `other`. */
export function callEndCauseLabel(cause: string | undefined): string {
  return cause !== undefined && CALL_END_CAUSE_SET.has(cause) ? cause : 'other';
}

/** A trunk as the per-trunk series label it (`trunk`, `role`). */
export interface TrunkLabel {
  readonly name: string;
  readonly role: TrunkRoleName;
}

/**
 * The trunks calls are counted under: every configured trunk, and `unmatched` (passthrough) when calls from
 * unmatched sources are passed through (the B2BUA names them so). Trunk names are configured, so finite.
 */
export function trunkLabels(config: Pick<Config, 'trunks' | 'unmatchedSource'>): TrunkLabel[] {
  const out: TrunkLabel[] = config.trunks.map((t) => ({ name: t.name, role: t.role }));
  if (config.unmatchedSource.action === 'passthrough') out.push({ name: 'unmatched', role: 'passthrough' });
  return out;
}

export const POLICY_REFUSAL_CAUSES = allOf<PolicyRefusalCause>()([
  'block',
  'dno',
  'destination',
  'cps',
  'concurrent',
]);

/**
 * A customer label: a configured customer name (config names are `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 64),
 * or "" for calls of no customer; anything else is `other`, so a bad payload cannot grow the series.
 */
export function customerLabel(name: string): string {
  return name === '' || /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name) ? name : 'other';
}

const STATUS_CLASSES: ReadonlySet<string> = new Set(STATUS_CLASS_LABELS);

/** `1xx` ... `6xx`; anything else (a status the parser let through outside 100..699) is `other`. */
export function statusClassLabel(statusClass: string | undefined): string {
  return statusClass !== undefined && STATUS_CLASSES.has(statusClass) ? statusClass : 'other';
}

/** Node socket error codes worth telling apart; the rest fold into `other`. */
const ERRNOS: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EMSGSIZE',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EACCES',
  'ENOBUFS',
]);

export function errnoLabel(errno: string): string {
  return ERRNOS.has(errno) ? errno : 'other';
}

/** PASSporT attest as a label: A, B, C, or `none` (no valid token, or a value outside RFC 8588). */
export function attestLabel(attest: string | undefined): string {
  return attest === 'A' || attest === 'B' || attest === 'C' ? attest : 'none';
}

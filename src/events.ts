import type { TrunkRoleName } from './config/types.js';
import { type EventChannel, eventChannel } from './event-channel.js';
import type { PolicyRefusalCause } from './policy/admission-counters.js';
import type { TransactionEventMap } from './sip/transaction/transaction-events.js';
import type { TransportEventMap, TransportTraceEvent } from './sip/transport/transport-events.js';
import type { TransportErrorCode } from './sip/transport/types.js';
import type { VerifyCode, Verstat } from './stir/codes.js';
import type { Attestation } from './stir/passport.js';
import { type StirEventMap, stirChannels } from './stir/stir-events.js';

/**
 * The catalog of every event Stirgate publishes on `node:diagnostics_channel`, each channel with its payload
 * type. Metrics (src/metrics/) and logs (src/log/) subscribe; the call path never imports prom-client.
 * Publishers check `channel.hasSubscribers` before building a payload, so an unobserved event costs a branch.
 *
 * Where each channel is declared: the leaves `sip` and `stir` must not import upward, so their channels are
 * declared in their own layer (src/sip/transport/transport-events.ts, src/sip/transaction/transaction-events.ts,
 * src/stir/stir-events.ts) and re-exported here; the channels of the layers above (B2BUA, cluster) are
 * declared here. `StirgateEventMap` names every channel with its payload.
 *
 * Payload fields are low-cardinality labels plus numbers; never phone numbers or Call-IDs. Two exceptions,
 * each with one intended subscriber: `stirgate:transport:trace` (whole messages, trace-level logs) and
 * `stirgate:traceback` (the traceback writer).
 */

export type { EventChannel } from './event-channel.js';
export {
  TRANSACTION_EVENT_NAMES,
  type TransactionEventMap,
  type TransactionEventName,
} from './sip/transaction/transaction-events.js';
export {
  TRANSPORT_EVENT_NAMES,
  TRANSPORT_TRACE_CHANNEL,
  type TransportEventMap,
  type TransportEventName,
  type TransportTraceEvent,
} from './sip/transport/transport-events.js';
export type { CertCacheEvent, SignEvent, StirEventMap, VerifyEvent } from './stir/stir-events.js';

// --- STIR core (declared in src/stir/stir-events.ts) -------------------------------------------------------

/** `stirgate:stir:sign`, `stirgate:stir:verify`, `stirgate:stir:cert_cache`. */
export const channels = stirChannels;

// --- STIR hooks (src/b2bua/signing-hook.ts, verification-hook.ts) -------------------------------------------

/** Why a call from an originating trunk went out unsigned (docs/errors.md "Signing outcomes"). */
export type UnsignedReason =
  | 'no_calling_number'
  | 'unknown_customer'
  | 'sign_failed'
  | 'kept_customer_identity';

/** What the signing hook decided for a call from an originating trunk (ATIS-1000074 §5.2.3). */
export interface AttestationEvent {
  readonly trunk: string;
  /** Attestation level signed, or `unsigned` with a reason. */
  readonly attest: Attestation | 'unsigned';
  readonly reason?: UnsignedReason;
}

/** What the verification hook did with a call from a terminating trunk (after policy). */
export interface VerificationDecisionEvent {
  readonly trunk: string;
  readonly code: VerifyCode;
  readonly action: 'continue' | 'reject';
}

export const decisionChannels: {
  readonly attestation: EventChannel<AttestationEvent>;
  readonly verification: EventChannel<VerificationDecisionEvent>;
} = {
  attestation: eventChannel('stirgate:stir:attestation'),
  verification: eventChannel('stirgate:stir:verification_decision'),
};

// --- calls (src/b2bua/) ------------------------------------------------------------------------------------

/**
 * Why a call ended (the B2BUA's `#end(call, cause)`): `cancelled` (CANCEL from the A side, or our own on a
 * timeout), `no_route` (no next hop), `rejected` (a hook or a final error response from the B side), `failed`
 * (every next hop failed by transport or timed out), `bye` (either side hung up), `ack_timeout` (no ACK for
 * our 2xx within 64*T1, RFC 3261 §13.3.1.4), `shutdown` (the element closed), and the reaped calls below.
 */
export type CallEndCause =
  | 'cancelled'
  | 'no_route'
  | 'rejected'
  | 'failed'
  | 'bye'
  | 'ack_timeout'
  | 'shutdown'
  /** No final answer from the next hop within Timer C or the route's invite_timeout_s (caller got 408). */
  | 'unanswered'
  /** The A-leg's or the B-leg's TCP connection closed (src/b2bua/call-reaper.ts). */
  | 'connection_lost'
  /** No RFC 4028 session refresh within the session interval (src/b2bua/session-timer.ts). */
  | 'session_expired'
  /** `sip.max_call_duration_s` reached. */
  | 'max_duration';

/** `stirgate:call:started`: an initial INVITE accepted as a call (after trunk match, before routing). */
export interface CallStartedEvent {
  readonly trunk: string;
  readonly role: TrunkRoleName;
}

/** `stirgate:call:forwarded`: the B-leg INVITE was handed to the transaction layer. */
export interface CallForwardedEvent {
  readonly trunk: string;
  readonly role: TrunkRoleName;
  /** A-leg INVITE received -> B-leg INVITE sent (includes signing or verification). */
  readonly durationNs: number;
  /** Index of the next hop used in the route (0: the first). */
  readonly hop: number;
}

/** `stirgate:call:ended`. */
export interface CallEndedEvent {
  readonly trunk: string;
  readonly role: TrunkRoleName;
  readonly cause: CallEndCause;
}

export const callChannels: {
  readonly started: EventChannel<CallStartedEvent>;
  readonly forwarded: EventChannel<CallForwardedEvent>;
  readonly ended: EventChannel<CallEndedEvent>;
} = {
  started: eventChannel('stirgate:call:started'),
  forwarded: eventChannel('stirgate:call:forwarded'),
  ended: eventChannel('stirgate:call:ended'),
};

// --- operator controls (src/b2bua/admission-hook.ts, block-hook.ts) ------------------------------------------

/**
 * `stirgate:policy:refusal`: a call refused by a block, the do-not-originate list, a destination rule or a
 * limit. `customer` is a configured customer name, or "" for a trunk without one (terminating trunks).
 */
export interface PolicyRefusalEvent {
  readonly customer: string;
  readonly cause: PolicyRefusalCause;
}

/** `stirgate:policy:emergency`: a call to an emergency number passed every block and limit. */
export interface EmergencyPassEvent {
  readonly customer: string;
}

export const policyChannels: {
  readonly refusal: EventChannel<PolicyRefusalEvent>;
  readonly emergency: EventChannel<EmergencyPassEvent>;
} = {
  refusal: eventChannel('stirgate:policy:refusal'),
  emergency: eventChannel('stirgate:policy:emergency'),
};

// --- sends whose failure nobody awaits (src/b2bua/) ---------------------------------------------------------

/** What could not be sent: an ACK for a 2xx (RFC 3261 §13.2.2.4), a BYE, a response or another request. */
export type SendFailureWhat = 'ack' | 'bye' | 'response' | 'request';

/**
 * `stirgate:sip:send_failure`: a send the B2BUA does not wait on (the ACK of a 2xx has no transaction to
 * report it) rejected with a TransportError. Counted and logged instead of swallowed.
 */
export interface SendFailureEvent {
  readonly what: SendFailureWhat;
  readonly code: TransportErrorCode;
}

export const sipChannels: { readonly sendFailure: EventChannel<SendFailureEvent> } = {
  sendFailure: eventChannel('stirgate:sip:send_failure'),
};

// --- traceback (src/traceback/, a later issue) --------------------------------------------------------------

/** What this element did with the call's identity: `forwarded` is passthrough, or a call left unsigned. */
export type TracebackRole = 'signed' | 'verified' | 'refused' | 'forwarded';

/**
 * Why a call was refused before it was forwarded. The operator controls' causes (`block`, `limit`,
 * `destination`, `dno`) name what refused the call in `refused.detail`: `block:<id>`, `limit:cps`,
 * `limit:concurrent`, `destination:<class or prefix>`, `dno:<entry>`.
 */
export type RefusalCause =
  | 'unknown_source'
  | 'max_calls'
  | 'loop'
  | 'verification'
  | 'policy'
  | 'block'
  | 'limit'
  | 'destination'
  | 'dno';

/** One record per call, published once its identity handling is decided. */
export interface TracebackCallEvent {
  readonly kind: 'call';
  /** Unique per call and per process run (the end event names it). */
  readonly key: string;
  /** Epoch ms, A-leg INVITE received. */
  readonly time: number;
  readonly role: TracebackRole;
  readonly trunk: string;
  readonly trunkRole: 'originating' | 'terminating' | 'passthrough' | 'unmatched';
  readonly customer: string | undefined;
  readonly source: { readonly address: string; readonly port: number; readonly transport: 'udp' | 'tcp' };
  readonly aCallId: string;
  readonly bCallId: string | undefined;
  /** e.g. `udp:192.0.2.1:5060`. */
  readonly nextHop: string | undefined;
  readonly calling: { readonly received: string | undefined; readonly canonical: string | undefined };
  readonly called: { readonly received: string | undefined; readonly canonical: string | undefined };
  readonly signed?: {
    readonly attest: Attestation;
    readonly origid: string;
    readonly iat: number;
    readonly digest: string;
  };
  readonly verified?: {
    readonly code: VerifyCode;
    readonly verstat: Verstat;
    readonly attest?: string;
    readonly origid?: string;
    readonly iat?: number;
    readonly x5u?: string;
    readonly spc?: string;
    readonly subject?: string;
  };
  readonly refused?: { readonly status: number; readonly cause: RefusalCause; readonly detail?: string };
}

/** The end of a call named by an earlier `TracebackCallEvent.key`. */
export interface TracebackEndEvent {
  readonly kind: 'end';
  readonly key: string;
  /** Epoch ms, the call ended. */
  readonly time: number;
  /** The B-leg and next hop the call ended on, when a failover moved it from those of the call event. */
  readonly bCallId?: string;
  readonly nextHop?: string;
  readonly answered: boolean;
  readonly status: number | undefined;
  readonly durationMs: number | undefined;
  readonly cause: CallEndCause;
}

export type TracebackEvent = TracebackCallEvent | TracebackEndEvent;

/**
 * `stirgate:traceback`. Unlike every other channel, its payload carries telephone numbers and Call-IDs: it
 * must only be subscribed by the traceback writer, never by metrics or general logs.
 */
export const tracebackChannel: EventChannel<TracebackEvent> = eventChannel('stirgate:traceback');

// --- cluster mode (src/cluster/) ----------------------------------------------------------------------------

/**
 * What a worker did with a UDP datagram another worker owns or sent it. `forwarded`: read here, handed to the
 * owner; `received`: handed to us by the reader; `owner_unavailable`: the owner is restarting, the datagram
 * is dropped (UDP retransmission recovers); `rejected`: a loopback datagram on the forwarding socket without
 * the cluster token; `too_large`: cannot fit an envelope.
 */
export interface ClusterDatagramEvent {
  readonly outcome: 'forwarded' | 'received' | 'owner_unavailable' | 'rejected' | 'too_large';
}

/**
 * Cluster replay checks (src/cluster/). `replay.cluster_check: ask_primary`: each check answered by the
 * primary's shared store, or not in time. `broadcast`: each key a worker recorded, shared with the others
 * through the primary or not (no primary); `late_replay`: the primary saw a key a second time, from a worker
 * that had not yet learnt it (the token set up a call in two workers).
 */
export interface ClusterReplayEvent {
  readonly outcome: 'answered' | 'timeout' | 'shared' | 'unshared' | 'late_replay';
}

export const clusterChannels: {
  readonly datagram: EventChannel<ClusterDatagramEvent>;
  readonly replay: EventChannel<ClusterReplayEvent>;
} = {
  datagram: eventChannel('stirgate:cluster:datagram'),
  replay: eventChannel('stirgate:cluster:replay_check'),
};

// --- every channel by name ------------------------------------------------------------------------------------

/** Every channel name with its payload: what a subscriber by name (metrics, logs) is handed. */
export interface StirgateEventMap extends TransportEventMap, TransactionEventMap, StirEventMap {
  'stirgate:transport:trace': TransportTraceEvent;
  'stirgate:stir:attestation': AttestationEvent;
  'stirgate:stir:verification_decision': VerificationDecisionEvent;
  'stirgate:call:started': CallStartedEvent;
  'stirgate:call:forwarded': CallForwardedEvent;
  'stirgate:call:ended': CallEndedEvent;
  'stirgate:policy:refusal': PolicyRefusalEvent;
  'stirgate:policy:emergency': EmergencyPassEvent;
  'stirgate:sip:send_failure': SendFailureEvent;
  'stirgate:traceback': TracebackEvent;
  'stirgate:cluster:datagram': ClusterDatagramEvent;
  'stirgate:cluster:replay_check': ClusterReplayEvent;
}

export type StirgateEventName = keyof StirgateEventMap;

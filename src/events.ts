import diagnostics_channel from 'node:diagnostics_channel';

/**
 * Events the core publishes (node:diagnostics_channel). Metrics and logs subscribe; the call path never
 * imports prom-client. Publish only when `channel.hasSubscribers`, so an unobserved event costs a branch.
 *
 * Payload fields are low-cardinality labels plus numbers; never phone numbers or Call-IDs.
 */

/** Per-call signing core: PASSporT build + ECDSA signature (ATIS-1000074 §5.3 authentication service). */
export interface SignEvent {
  readonly durationNs: number;
  readonly outcome: 'signed' | 'failed';
  readonly attest: 'A' | 'B' | 'C' | undefined;
  /** Stable failure code when outcome is failed. */
  readonly code?: string;
}

/** Per-call verification (RFC 8224 §6.2 verification service). */
export interface VerifyEvent {
  readonly durationNs: number;
  /** VerifyCode: `passed` or the failure code. */
  readonly code: string;
  /** Whether the certificate came from the cache without waiting on a fetch. */
  readonly cache: 'hit' | 'miss' | 'none';
  readonly attest: string | undefined;
}

/** Certificate cache activity (lru-cache fetchMethod). */
export interface CertCacheEvent {
  readonly kind: 'hit' | 'miss' | 'stale' | 'fetch_error' | 'negative_hit';
  readonly code?: string;
}

export const channels = {
  sign: diagnostics_channel.channel('stirgate:stir:sign'),
  verify: diagnostics_channel.channel('stirgate:stir:verify'),
  certCache: diagnostics_channel.channel('stirgate:stir:cert_cache'),
} as const;

/** What the signing hook decided for a call from an originating trunk (ATIS-1000074 §5.2.3). */
export interface AttestationEvent {
  readonly trunk: string;
  /** Attestation level signed, or `unsigned` with a reason. */
  readonly attest: 'A' | 'B' | 'C' | 'unsigned';
  readonly reason?: 'no_calling_number' | 'unknown_customer' | 'sign_failed' | 'kept_customer_identity';
}

/** What the verification hook did with a call from a terminating trunk (after policy). */
export interface VerificationDecisionEvent {
  readonly trunk: string;
  readonly code: string;
  readonly action: 'continue' | 'reject';
}

export const decisionChannels = {
  attestation: diagnostics_channel.channel('stirgate:stir:attestation'),
  verification: diagnostics_channel.channel('stirgate:stir:verification_decision'),
} as const;

/**
 * Cluster mode (src/cluster/): what a worker did with a UDP datagram another worker owns or sent it.
 * `forwarded`: read here, handed to the owner; `received`: handed to us by the reader; `owner_unavailable`:
 * the owner is restarting, the datagram is dropped (UDP retransmission recovers); `rejected`: a loopback
 * datagram on the forwarding socket without the cluster token; `too_large`: cannot fit an envelope.
 */
export interface ClusterDatagramEvent {
  readonly outcome: 'forwarded' | 'received' | 'owner_unavailable' | 'rejected' | 'too_large';
}

/** Cluster mode: a replay check against the primary's shared store that got no answer in time. */
export interface ClusterReplayEvent {
  readonly outcome: 'answered' | 'timeout';
}

export const clusterChannels = {
  datagram: diagnostics_channel.channel('stirgate:cluster:datagram'),
  replay: diagnostics_channel.channel('stirgate:cluster:replay_check'),
} as const;

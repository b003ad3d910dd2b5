import { type EventChannel, eventChannel } from '../event-channel.js';
import type { CertFailureCode } from './certs/cert-cache.js';
import type { VerifyCode } from './codes.js';
import type { Attestation } from './passport.js';
import type { SignErrorCode } from './signer.js';

/**
 * What the STIR core publishes (declared here, in the stir layer, so that stir never imports the catalog
 * above it; src/events.ts re-exports all of it). Labels and numbers only: never phone numbers or Call-IDs.
 */

/** Per-call signing core: PASSporT build + ECDSA signature (ATIS-1000074 §5.3 authentication service). */
export interface SignEvent {
  readonly durationNs: number;
  readonly outcome: 'signed' | 'failed';
  readonly attest: Attestation | undefined;
  /** Set when outcome is `failed`. */
  readonly code?: SignErrorCode;
}

/** Per-call verification (RFC 8224 §6.2 verification service). */
export interface VerifyEvent {
  readonly durationNs: number;
  /** `passed` or the failure. */
  readonly code: VerifyCode;
  /** Whether the certificate came from the cache without waiting on a fetch. */
  readonly cache: 'hit' | 'miss' | 'none';
  readonly attest: Attestation | undefined;
}

/** Certificate cache activity (lru-cache fetchMethod). */
export interface CertCacheEvent {
  readonly kind: 'hit' | 'miss' | 'stale' | 'fetch_error' | 'negative_hit';
  /** Set for `negative_hit` and `fetch_error`. */
  readonly code?: CertFailureCode;
}

export interface StirEventMap {
  'stirgate:stir:sign': SignEvent;
  'stirgate:stir:verify': VerifyEvent;
  'stirgate:stir:cert_cache': CertCacheEvent;
}

export const stirChannels: {
  readonly sign: EventChannel<SignEvent>;
  readonly verify: EventChannel<VerifyEvent>;
  readonly certCache: EventChannel<CertCacheEvent>;
} = {
  sign: eventChannel('stirgate:stir:sign'),
  verify: eventChannel('stirgate:stir:verify'),
  certCache: eventChannel('stirgate:stir:cert_cache'),
};

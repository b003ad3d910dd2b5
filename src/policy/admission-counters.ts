import type { CustomerLimits } from './controls.js';

/**
 * The per-customer counters behind the limits (token bucket for calls per second, a count of concurrent
 * calls) and the refusals by cause. One process: counted in place, synchronously. A cluster: the primary
 * counts for the whole element and a worker asks it over IPC (a promise), so the limits hold for the
 * element, not per worker.
 */

/** Why a customer's call was refused by an admission rule (metrics label, traceback detail). */
export type PolicyRefusalCause = 'block' | 'dno' | 'destination' | 'cps' | 'concurrent';

export type AdmitResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly cause: 'cps' | 'concurrent';
      /** RFC 3261 §21.5.4 / §20.33: seconds to put in Retry-After. */
      readonly retryAfterS: number;
    };

export interface AdmissionCounters {
  /** Take a token and a concurrent slot for one call of `customer` under `limits`, or say why not. */
  admit(customer: string, limits: CustomerLimits): AdmitResult | Promise<AdmitResult>;
  /** The call admitted for `customer` ended (once per admitted call). */
  release(customer: string): void;
  /** A call of `customer` was refused by a rule other than the limits (counted only). */
  refused(customer: string, cause: PolicyRefusalCause): void;
}

/** A customer's live figures (`GET /v1/customers`). */
export interface CustomerFigures {
  readonly customer: string;
  /** Calls admitted in the last full second. */
  readonly cps: number;
  readonly concurrent: number;
  readonly refusals: Readonly<Partial<Record<PolicyRefusalCause, number>>>;
}

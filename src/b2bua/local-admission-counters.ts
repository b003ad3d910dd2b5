import type {
  AdmissionCounters,
  AdmitResult,
  CustomerFigures,
  PolicyRefusalCause,
} from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';
import { type BucketState, giveBack, take, takeUpTo } from '../policy/token-bucket.js';

/**
 * The admission counters of one process, counted in place and synchronously (so the admission hook stays
 * synchronous): per customer a token bucket (src/policy/token-bucket.ts), the calls in progress, the calls
 * admitted per second and the refusals by cause. One entry per customer name that placed a call: customer
 * names come from the configuration, so the map is bounded by it.
 */

export interface LocalAdmissionCountersOptions {
  /** Epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Retry-After (seconds) of a refusal for `max_concurrent`: a call slot frees when some call ends, which
   * the counters cannot foresee, so a fixed value. Default 5.
   */
  readonly concurrentRetryAfterS?: number;
}

interface CustomerCounters {
  bucket: BucketState | undefined;
  /** The limits of the last admit or lease (a returned lease refills the bucket under them). */
  limits: CustomerLimits | undefined;
  concurrent: number;
  /** The second (epoch ms / 1000, floored) `admittedInSecond` counts, and the count of the one before. */
  second: number;
  admittedInSecond: number;
  admittedInPreviousSecond: number;
  readonly refusals: Partial<Record<PolicyRefusalCause, number>>;
}

const DEFAULT_CONCURRENT_RETRY_AFTER_S = 5;

export class LocalAdmissionCounters implements AdmissionCounters {
  readonly #now: () => number;
  readonly #concurrentRetryAfterS: number;
  readonly #customers = new Map<string, CustomerCounters>();

  constructor(options: LocalAdmissionCountersOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#concurrentRetryAfterS = options.concurrentRetryAfterS ?? DEFAULT_CONCURRENT_RETRY_AFTER_S;
  }

  /** A concurrent slot first, then a token: a call refused for either takes neither. */
  admit(customer: string, limits: CustomerLimits): AdmitResult {
    const c = this.#entry(customer);
    c.limits = limits;
    if (c.concurrent >= limits.maxConcurrent) {
      count(c, 'concurrent');
      return { ok: false, cause: 'concurrent', retryAfterS: this.#concurrentRetryAfterS };
    }
    const now = this.#now();
    const r = take(c.bucket, now, limits.cps, limits.burst);
    c.bucket = r.state;
    if (!r.ok) {
      count(c, 'cps');
      return { ok: false, cause: 'cps', retryAfterS: r.retryAfterS };
    }
    c.concurrent++;
    this.#countAdmitted(c, now, 1);
    return ADMITTED;
  }

  release(customer: string): void {
    const c = this.#customers.get(customer);
    if (c !== undefined && c.concurrent > 0) c.concurrent--;
  }

  /**
   * A batch for a cluster worker (src/cluster/ipc-admission-counters.ts): up to `want` concurrent slots, each
   * with a token, from the same bucket and count as `admit` (one slot once past half the concurrent limit). Counts no refusal (the worker tells those, per
   * call) and no admitted call (the worker reports them with `returnLease`).
   */
  lease(customer: string, limits: CustomerLimits, want: number): LeaseResult {
    const c = this.#entry(customer);
    c.limits = limits;
    // Past half the customer's concurrent calls, one slot at a time: a batch parked in one worker must not
    // refuse a call in another while the customer is below its limit.
    const n = c.concurrent + want > limits.maxConcurrent / 2 ? 1 : want;
    const slots = Math.min(n, limits.maxConcurrent - c.concurrent);
    if (slots <= 0) return { granted: 0, cause: 'concurrent', retryAfterS: this.#concurrentRetryAfterS };
    const r = takeUpTo(c.bucket, this.#now(), limits.cps, limits.burst, slots);
    c.bucket = r.state;
    if (r.granted === 0) return { granted: 0, cause: 'cps', retryAfterS: r.retryAfterS };
    c.concurrent += r.granted;
    return { granted: r.granted };
  }

  /**
   * A worker gives back what it leased and did not use (`tokens` back into the bucket, `slots` freed: calls
   * that ended, or slots never used), and says how many calls it admitted since its last report.
   */
  returnLease(customer: string, tokens: number, slots: number, admitted: number): void {
    const c = this.#customers.get(customer);
    if (c === undefined) return;
    const now = this.#now();
    c.concurrent = Math.max(0, c.concurrent - slots);
    if (tokens > 0 && c.limits !== undefined)
      c.bucket = giveBack(c.bucket, now, c.limits.cps, c.limits.burst, tokens);
    if (admitted > 0) this.#countAdmitted(c, now, admitted);
  }

  refused(customer: string, cause: PolicyRefusalCause): void {
    count(this.#entry(customer), cause);
  }

  /** Every customer that placed a call since the process started. */
  figures(): CustomerFigures[] {
    const second = Math.floor(this.#now() / 1000);
    const out: CustomerFigures[] = [];
    for (const [customer, c] of this.#customers) {
      out.push({
        customer,
        cps: lastFullSecond(c, second),
        concurrent: c.concurrent,
        refusals: { ...c.refusals },
      });
    }
    return out;
  }

  #entry(customer: string): CustomerCounters {
    let c = this.#customers.get(customer);
    if (c === undefined) {
      c = {
        bucket: undefined,
        limits: undefined,
        concurrent: 0,
        second: 0,
        admittedInSecond: 0,
        admittedInPreviousSecond: 0,
        refusals: {},
      };
      this.#customers.set(customer, c);
    }
    return c;
  }

  #countAdmitted(c: CustomerCounters, nowMs: number, n: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second !== c.second) {
      c.admittedInPreviousSecond = second === c.second + 1 ? c.admittedInSecond : 0;
      c.second = second;
      c.admittedInSecond = 0;
    }
    c.admittedInSecond += n;
  }
}

const ADMITTED: AdmitResult = Object.freeze({ ok: true });

/** What a lease gave: `granted` slots with a token each; none, with why and when to try again. */
export type LeaseResult =
  | { readonly granted: number; readonly cause?: undefined; readonly retryAfterS?: undefined }
  | { readonly granted: 0; readonly cause: 'cps' | 'concurrent'; readonly retryAfterS: number };

function count(c: CustomerCounters, cause: PolicyRefusalCause): void {
  c.refusals[cause] = (c.refusals[cause] ?? 0) + 1;
}

/** Calls admitted in the second before `second` (the last full one). */
function lastFullSecond(c: CustomerCounters, second: number): number {
  if (second === c.second) return c.admittedInPreviousSecond;
  if (second === c.second + 1) return c.admittedInSecond;
  return 0;
}

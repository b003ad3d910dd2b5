import { type LeaseResult, LocalAdmissionCounters } from '../b2bua/local-admission-counters.js';
import type { CustomerFigures, PolicyRefusalCause } from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';

/**
 * The cluster primary's side of the element-wide limits: one `LocalAdmissionCounters` for every worker's
 * calls. Workers lease concurrent slots with a token each in small batches (`sg:lease`,
 * src/cluster/ipc-admission-counters.ts) and give back what they did not use (`sg:lease_return`). Per worker
 * the slots it holds are known, so a worker that exits (its calls gone with it) gives its slots back at once
 * instead of holding its customers' limits down until a restart of the element.
 */
export class ElementAdmission {
  readonly counters: LocalAdmissionCounters;
  /** Worker slot index -> customer -> slots leased and not yet returned (in use or spare). */
  readonly #held = new Map<number, Map<string, number>>();
  /** Worker slot index -> customer -> calls in progress, as the worker last reported. */
  readonly #active = new Map<number, Map<string, number>>();

  constructor(counters = new LocalAdmissionCounters()) {
    this.counters = counters;
  }

  lease(worker: number, customer: string, limits: CustomerLimits, want: number): LeaseResult {
    const r = this.counters.lease(customer, limits, want);
    if (r.granted > 0) {
      const held = this.#heldBy(worker);
      held.set(customer, (held.get(customer) ?? 0) + r.granted);
    }
    return r;
  }

  /** Slots beyond what the worker holds are ignored (calls it admitted without an answer, on a timeout). */
  returnLease(
    worker: number,
    customer: string,
    tokens: number,
    slots: number,
    admitted: number,
    active: number,
  ): void {
    mapOf(this.#active, worker).set(customer, active);
    const held = this.#held.get(worker);
    const n = Math.min(slots, held?.get(customer) ?? 0);
    if (n > 0) held!.set(customer, held!.get(customer)! - n);
    this.counters.returnLease(customer, tokens, n, admitted);
  }

  refused(customer: string, cause: PolicyRefusalCause): void {
    this.counters.refused(customer, cause);
  }

  /**
   * Each customer's figures for the element: the counters' (rate, refusals), with the calls in progress as
   * the workers report them (the slots leased also count the spare ones a worker holds).
   */
  figures(): CustomerFigures[] {
    return this.counters.figures().map((f) => {
      let concurrent = 0;
      for (const byCustomer of this.#active.values()) concurrent += byCustomer.get(f.customer) ?? 0;
      return { ...f, concurrent };
    });
  }

  /** The worker exited: every slot it held is released. Returns how many. */
  workerGone(worker: number): number {
    const held = this.#held.get(worker);
    this.#held.delete(worker);
    this.#active.delete(worker);
    let n = 0;
    for (const [customer, count] of held ?? []) {
      this.counters.returnLease(customer, 0, count, 0);
      n += count;
    }
    return n;
  }

  #heldBy(worker: number): Map<string, number> {
    return mapOf(this.#held, worker);
  }
}

function mapOf(m: Map<number, Map<string, number>>, worker: number): Map<string, number> {
  let inner = m.get(worker);
  if (inner === undefined) {
    inner = new Map();
    m.set(worker, inner);
  }
  return inner;
}

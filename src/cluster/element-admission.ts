import { LocalAdmissionCounters } from '../b2bua/local-admission-counters.js';
import type { AdmitResult, PolicyRefusalCause } from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';

/**
 * The cluster primary's side of the element-wide limits: one `LocalAdmissionCounters` for every worker's
 * calls, and per worker the concurrent slots it holds, so that a worker that exits (its calls gone with it)
 * gives its slots back at once instead of holding its customers' limits down until a restart of the element.
 */
export class ElementAdmission {
  readonly counters: LocalAdmissionCounters;
  /** Worker slot index -> customer -> calls admitted and not yet released. */
  readonly #held = new Map<number, Map<string, number>>();

  constructor(counters = new LocalAdmissionCounters()) {
    this.counters = counters;
  }

  admit(worker: number, customer: string, limits: CustomerLimits): AdmitResult {
    const r = this.counters.admit(customer, limits);
    if (r.ok) {
      const held = this.#heldBy(worker);
      held.set(customer, (held.get(customer) ?? 0) + 1);
    }
    return r;
  }

  release(worker: number, customer: string): void {
    const held = this.#held.get(worker);
    const n = held?.get(customer) ?? 0;
    if (n === 0) return; // not admitted here (a timed-out admit the primary never saw)
    held!.set(customer, n - 1);
    this.counters.release(customer);
  }

  refused(customer: string, cause: PolicyRefusalCause): void {
    this.counters.refused(customer, cause);
  }

  /** The worker exited: every slot it held is released. Returns how many. */
  workerGone(worker: number): number {
    const held = this.#held.get(worker);
    this.#held.delete(worker);
    let n = 0;
    for (const [customer, count] of held ?? []) {
      for (let i = 0; i < count; i++) this.counters.release(customer);
      n += count;
    }
    return n;
  }

  #heldBy(worker: number): Map<string, number> {
    let held = this.#held.get(worker);
    if (held === undefined) {
      held = new Map();
      this.#held.set(worker, held);
    }
    return held;
  }
}

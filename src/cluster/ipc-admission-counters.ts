import type { AdmissionCounters, AdmitResult, PolicyRefusalCause } from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';
import type { WorkerToPrimary } from './protocol.js';

/** How long a worker waits for the primary's answer before admitting the call anyway. */
export const ADMIT_TIMEOUT_MS = 250;

const ADMITTED: AdmitResult = Object.freeze({ ok: true });

/**
 * A cluster worker's admission counters (issue 17: the limits hold for the element, not per worker): each
 * `admit` asks the primary, which counts for every worker (`sg:admit`, answered by id); `release` and
 * `refused` are told, not asked (`sg:release`, `sg:refused`).
 *
 * When the primary does not answer within `timeoutMs` (busy, or gone), the call is admitted: a limit is a
 * protection against abuse, and dropping a legitimate call because the counter was slow is the worse fault.
 * Such calls are counted (`timedOut`) and the caller logs them; the primary still counts the admit when the
 * request reaches it late, and the call's release then frees its slot.
 */
export class IpcAdmissionCounters implements AdmissionCounters {
  readonly #send: (m: WorkerToPrimary) => boolean;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, { resolve: (r: AdmitResult) => void; timer: NodeJS.Timeout }>();
  #next = 0;
  #timedOut = 0;

  constructor(send: (m: WorkerToPrimary) => boolean, timeoutMs = ADMIT_TIMEOUT_MS) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  /** Calls admitted without the primary's answer (timeout, or no IPC channel). */
  get timedOut(): number {
    return this.#timedOut;
  }

  admit(customer: string, limits: CustomerLimits): Promise<AdmitResult> {
    const id = ++this.#next;
    if (!this.#send({ t: 'sg:admit', id, customer, limits })) {
      this.#timedOut++;
      return Promise.resolve(ADMITTED);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#timedOut++;
        resolve(ADMITTED);
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, timer });
    });
  }

  /** The primary's `sg:admit` answer; a late one (after its timeout) is ignored. */
  answer(id: number, result: AdmitResult): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(result);
  }

  release(customer: string): void {
    this.#send({ t: 'sg:release', customer });
  }

  refused(customer: string, cause: PolicyRefusalCause): void {
    this.#send({ t: 'sg:refused', customer, cause });
  }

  /** Stopping: the calls waiting are admitted (they are being ended with the worker anyway). */
  close(): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(ADMITTED);
    }
  }
}

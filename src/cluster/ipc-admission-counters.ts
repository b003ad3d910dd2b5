import type { LeaseResult } from '../b2bua/local-admission-counters.js';
import type { AdmissionCounters, AdmitResult, PolicyRefusalCause } from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';
import type { WorkerToPrimary } from './protocol.js';

/** How long calls wait for the primary's answer to a lease before they are admitted anyway. */
export const ADMIT_TIMEOUT_MS = 250;
/** How often a worker gives back what it leased and did not use. */
export const LEASE_TICK_MS = 100;
/** The largest batch a worker leases at once. */
export const MAX_LEASE = 64;

const ADMITTED: AdmitResult = Object.freeze({ ok: true });

/** A customer's batch in this worker. Every leased token came with a concurrent slot. */
interface Pool {
  limits: CustomerLimits;
  /** Leased tokens not used yet (each with a spare slot). */
  tokens: number;
  /** Leased slots not in use: `tokens` of them with a token, the rest freed by calls that ended. */
  slots: number;
  /** Calls admitted since the last report to the primary. */
  admitted: number;
  /** Calls of this worker in progress, and the figure the primary last heard. */
  active: number;
  reportedActive: number;
  /** A call took a token since the last tick. */
  used: boolean;
  /** The id of the lease request out, 0 when none. */
  requestId: number;
  /** Calls waiting for that request's answer. */
  readonly waiting: ((r: AdmitResult) => void)[];
}

/**
 * A cluster worker's admission counters (issue 17: the limits hold for the element, not per worker). The
 * primary owns each customer's token bucket and count of concurrent calls (src/cluster/element-admission.ts);
 * this worker leases a small batch of concurrent slots, each with a token, and admits calls from it in place,
 * synchronously, like a single process. It asks for the next batch before the current one runs out (half
 * way), so a steady stream of calls does not wait for the IPC round trip; a call waits only when the batch is
 * empty (a burst, or the first call of a customer). Every tick (`LEASE_TICK_MS`) it gives back the slots
 * freed by calls that ended, and the whole batch once the customer has been idle for a tick, so the element
 * total stays within one batch per worker of exact, and a rate limit lets through exactly the bucket's tokens.
 * The same report carries the worker's calls in progress (the live figure of `GET /v1/customers`).
 *
 * Batch size: a tenth of a second of the customer's rate, at most an eighth of its concurrent calls spread
 * over the workers, between 1 and `MAX_LEASE`; batches of one are not fetched ahead (a customer at 10 calls/s
 * or 20 concurrent calls asks for each call), and the primary leases one slot at a time once the customer
 * is past half its concurrent calls: near a limit the element counts call by call, exactly.
 *
 * When the primary does not answer within `timeoutMs` (busy, or gone), the waiting calls are admitted: a
 * limit is a protection against abuse, and dropping a legitimate call because the counter was slow is the
 * worse fault. Such calls are counted (`timedOut`). A late answer's batch is still added to the pool.
 */
export class IpcAdmissionCounters implements AdmissionCounters {
  readonly #send: (m: WorkerToPrimary) => boolean;
  readonly #workers: number;
  readonly #timeoutMs: number;
  readonly #pools = new Map<string, Pool>();
  /** Request id -> the customer it is for and its timeout. */
  readonly #pending = new Map<number, { customer: string; timer: NodeJS.Timeout | undefined }>();
  #next = 0;
  #timedOut = 0;
  #ticker: NodeJS.Timeout | undefined;

  constructor(send: (m: WorkerToPrimary) => boolean, workers: number, timeoutMs = ADMIT_TIMEOUT_MS) {
    this.#send = send;
    this.#workers = Math.max(1, workers);
    this.#timeoutMs = timeoutMs;
  }

  /** Calls admitted without the primary's answer (timeout, or no IPC channel). */
  get timedOut(): number {
    return this.#timedOut;
  }

  admit(customer: string, limits: CustomerLimits): AdmitResult | Promise<AdmitResult> {
    const p = this.#pool(customer, limits);
    p.limits = limits;
    if (p.tokens >= 1) {
      take(p);
      this.#prefetch(customer, p);
      return ADMITTED;
    }
    return new Promise((resolve) => {
      p.waiting.push(resolve);
      if (p.requestId === 0) this.#request(customer, p, Math.max(this.#batch(limits), p.waiting.length));
    });
  }

  /** The primary's answer to `sg:lease`. */
  answer(id: number, r: LeaseResult): void {
    const q = this.#pending.get(id);
    if (q === undefined) return;
    this.#pending.delete(id);
    if (q.timer !== undefined) clearTimeout(q.timer);
    const p = this.#pools.get(q.customer)!;
    if (p.requestId === id) p.requestId = 0;
    p.tokens += r.granted;
    p.slots += r.granted;
    while (p.waiting.length > 0 && p.tokens >= 1) {
      take(p);
      p.waiting.shift()!(ADMITTED);
    }
    if (p.waiting.length > 0) {
      if (r.granted === 0) {
        // The customer is at its limit for the whole element: every call waiting is refused.
        const refusal: AdmitResult = { ok: false, cause: r.cause!, retryAfterS: r.retryAfterS! };
        for (const w of p.waiting.splice(0)) {
          this.refused(q.customer, r.cause!);
          w(refusal);
        }
      } else if (p.requestId === 0)
        this.#request(q.customer, p, Math.max(this.#batch(p.limits), p.waiting.length));
    } else if (r.granted > 0) this.#prefetch(q.customer, p);
    this.#startTicker();
  }

  release(customer: string): void {
    const p = this.#pools.get(customer);
    if (p === undefined) return;
    p.slots++;
    if (p.active > 0) p.active--;
    this.#startTicker();
  }

  refused(customer: string, cause: PolicyRefusalCause): void {
    this.#send({ t: 'sg:refused', customer, cause });
  }

  /** Stopping: the calls waiting are admitted (they end with the worker), and the batches go back. */
  close(): void {
    for (const q of this.#pending.values()) if (q.timer !== undefined) clearTimeout(q.timer);
    this.#pending.clear();
    for (const [customer, p] of this.#pools) {
      for (const w of p.waiting.splice(0)) w(ADMITTED);
      p.requestId = 0;
      this.#giveBack(customer, p, p.tokens, p.slots);
    }
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** What the worker holds for a customer (tests, diagnostics). */
  held(customer: string): { tokens: number; slots: number; waiting: number } | undefined {
    const p = this.#pools.get(customer);
    return p === undefined ? undefined : { tokens: p.tokens, slots: p.slots, waiting: p.waiting.length };
  }

  #batch(limits: CustomerLimits): number {
    const byRate = (limits.cps * LEASE_TICK_MS) / 1000;
    const byConcurrency = limits.maxConcurrent / (8 * this.#workers);
    return Math.max(1, Math.min(MAX_LEASE, Math.floor(Math.min(byRate, byConcurrency))));
  }

  /** Half way through a batch of two or more, ask for the next one (no call waits for it). */
  #prefetch(customer: string, p: Pool): void {
    const batch = this.#batch(p.limits);
    if (batch >= 2 && p.requestId === 0 && p.tokens <= batch / 2) this.#request(customer, p, batch);
  }

  #request(customer: string, p: Pool, want: number): void {
    const id = ++this.#next;
    if (!this.#send({ t: 'sg:lease', id, customer, limits: p.limits, want })) {
      this.#admitWaiting(p); // no channel to the primary: nobody to count with
      return;
    }
    p.requestId = id;
    const timer =
      p.waiting.length > 0 ? setTimeout(() => this.#requestTimedOut(id), this.#timeoutMs) : undefined;
    this.#pending.set(id, { customer, timer });
  }

  #requestTimedOut(id: number): void {
    const q = this.#pending.get(id);
    if (q === undefined) return;
    q.timer = undefined; // the answer may still come: its batch is then added to the pool
    const p = this.#pools.get(q.customer)!;
    if (p.requestId === id) p.requestId = 0;
    this.#admitWaiting(p);
  }

  #admitWaiting(p: Pool): void {
    for (const w of p.waiting.splice(0)) {
      this.#timedOut++;
      p.admitted++;
      p.active++;
      w(ADMITTED);
    }
  }

  #pool(customer: string, limits: CustomerLimits): Pool {
    let p = this.#pools.get(customer);
    if (p === undefined) {
      p = {
        limits,
        tokens: 0,
        slots: 0,
        admitted: 0,
        active: 0,
        reportedActive: 0,
        used: false,
        requestId: 0,
        waiting: [],
      };
      this.#pools.set(customer, p);
    }
    return p;
  }

  #startTicker(): void {
    if (this.#ticker !== undefined) return;
    this.#ticker = setInterval(() => this.#tick(), LEASE_TICK_MS);
    this.#ticker.unref();
  }

  /** Give back the slots freed by ended calls, and everything a customer idle since the last tick holds. */
  #tick(): void {
    let holding = false;
    for (const [customer, p] of this.#pools) {
      const idle = !p.used && p.waiting.length === 0 && p.requestId === 0;
      const tokens = idle ? p.tokens : 0;
      const slots = idle ? p.slots : p.slots - p.tokens;
      this.#giveBack(customer, p, tokens, slots);
      p.used = false;
      if (p.tokens > 0 || p.slots > 0 || p.waiting.length > 0 || p.requestId !== 0 || p.active > 0)
        holding = true;
    }
    if (!holding && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  #giveBack(customer: string, p: Pool, tokens: number, slots: number): void {
    if (tokens === 0 && slots === 0 && p.admitted === 0 && p.active === p.reportedActive) return;
    const m = {
      t: 'sg:lease_return',
      customer,
      tokens,
      slots,
      admitted: p.admitted,
      active: p.active,
    } as const;
    if (this.#send(m)) {
      p.tokens -= tokens;
      p.slots -= slots;
      p.admitted = 0;
      p.reportedActive = p.active;
    }
  }
}

function take(p: Pool): void {
  p.tokens--;
  p.slots--;
  p.admitted++;
  p.active++;
  p.used = true;
}

import type { Logger } from '../log/logger.js';

/** What a drain acts on: the B2BUA (src/b2bua/b2bua.ts). */
export interface Drainable {
  /** New INVITEs and OPTIONS get 503 with this Retry-After from now on. */
  startDrain(retryAfterS: number): void;
  /** BYE both legs of every established call, cancel the ones being set up; returns how many. */
  hangUpAll(): number;
  /** Calls still held (being set up, established or ending). */
  calls(): number;
}

/** How a drain ended: `idle` every call ended by itself, `deadline` the rest got BYEs, `now` a second signal. */
export type DrainEnd = 'idle' | 'deadline' | 'now';

export interface DrainOutcome {
  readonly end: DrainEnd;
  /** Calls held when the drain started. */
  readonly callsAtStart: number;
  /** Calls this drain hung up (BYE both legs) or cancelled. */
  readonly hungUp: number;
  /** Calls still held when the drain let the process go (BYEs unanswered within BYE_WAIT_MS). */
  readonly left: number;
  readonly ms: number;
}

/** How often the drain looks at the call count. */
const POLL_MS = 50;
/**
 * After the deadline's BYEs: how long to wait for their answers. On loopback and on a LAN a BYE is answered in
 * milliseconds; the UDP retransmissions of the first 3 s (RFC 3261 §17.1.2.2: T1, 2*T1, 4*T1) are sent.
 */
export const BYE_WAIT_MS = 3000;
/** A second signal: the BYEs are handed to the sockets, then the process goes without waiting for answers. */
const NOW_FLUSH_MS = 50;

/**
 * SIGTERM (src/cli/main.ts, and each cluster worker on its primary's word): new INVITEs and OPTIONS get 503
 * with Retry-After (a dispatcher in front takes the element out), calls being set up and established go on
 * until they end or `drain_timeout_s`, then both legs of each get a BYE (RFC 3261 §15.1.1) and calls still
 * ringing are cancelled (§9); resolves once no call is held (or BYE_WAIT_MS later), and the caller closes the
 * element and exits 0. `now()` (a second SIGTERM) ends at once: it still sends the BYEs, without waiting.
 */
export class Drain {
  readonly #target: Drainable;
  readonly #log: Logger;
  #now: (() => void) | undefined;
  #running: Promise<DrainOutcome> | undefined;

  constructor(target: Drainable, log: Logger) {
    this.#target = target;
    this.#log = log;
  }

  /** Starts the drain (once; a later call returns the same promise). */
  run(timeoutMs: number, retryAfterS: number): Promise<DrainOutcome> {
    this.#running ??= this.#run(timeoutMs, retryAfterS);
    return this.#running;
  }

  /** A second signal: BYE everything now and let the process go. */
  now(): void {
    this.#now?.();
  }

  async #run(timeoutMs: number, retryAfterS: number): Promise<DrainOutcome> {
    const t = this.#target;
    const started = Date.now();
    const callsAtStart = t.calls();
    t.startDrain(retryAfterS);
    this.#log.info(
      { event: 'drain_started', calls: callsAtStart, drainTimeoutS: timeoutMs / 1000 },
      'draining: new calls refused (503), established calls go on',
    );
    let hungUp = 0;
    let secondSignal = false;
    const outcome = (end: DrainEnd): DrainOutcome => ({
      end,
      callsAtStart,
      hungUp,
      left: t.calls(),
      ms: Date.now() - started,
    });
    const interrupted = new Promise<'now'>((resolve) => {
      this.#now = () => {
        secondSignal = true;
        hungUp += t.hangUpAll();
        setTimeout(() => resolve('now'), NOW_FLUSH_MS);
      };
    });
    const first = await Promise.race([untilIdle(t, timeoutMs), interrupted]);
    let end: DrainEnd = first === 'now' ? 'now' : 'idle';
    if (first === 'timeout') {
      end = 'deadline';
      hungUp += t.hangUpAll();
      this.#log.info({ event: 'drain_deadline', calls: hungUp }, 'drain deadline: BYE on both legs');
      await Promise.race([untilIdle(t, BYE_WAIT_MS), interrupted]);
    }
    const o = outcome(secondSignal ? 'now' : end);
    this.#log.info({ event: 'drain_done', ...o }, 'drained');
    return o;
  }
}

/** Resolves 'idle' once no call is held, or 'timeout' after `ms`. */
function untilIdle(t: Drainable, ms: number): Promise<'idle' | 'timeout'> {
  return new Promise((resolve) => {
    const deadline = Date.now() + ms;
    const check = () => {
      if (t.calls() === 0) resolve('idle');
      else if (Date.now() >= deadline) resolve('timeout');
      else setTimeout(check, Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    };
    check();
  });
}

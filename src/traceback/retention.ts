import type { Clock, TimerHandle } from '../sip/transaction/timers.js';
import type { TracebackStore } from './store.js';

/**
 * Background retention of traceback records (docs/traceback.md "Retention"): every `intervalMs`, delete the
 * records older than `retentionDays` in batches of `batchRows`, pausing `batchPauseMs` between batches so
 * the writer's transactions interleave with the pruning (SQLite has one writer at a time: a batch of a few
 * thousand rows holds the lock for milliseconds, never the whole backlog's time). A pass ends at the first
 * batch that deletes fewer rows than asked: nothing older than the cut-off remains.
 *
 * Default retention, 30 days: a traceback request must be answered within 24 hours of receipt (47 CFR
 * 64.1200(n)(1)) but names a call that may be days or weeks old; the Industry Traceback Group prioritises
 * calls under 10 days old because older records are often gone, and 30 days covers that window three times
 * over (a request that lags the call by weeks still finds it). The 18 months of 47 CFR 42.6 apply to toll
 * billing records, which the operator's billing system keeps, not to these. The records hold telephone numbers:
 * keeping them longer than traceback needs is a privacy cost, and a disk cost of about 0.73 GB per million
 * records (docs/performance-history.md "Traceback store"): 30 days at an average 20 calls/s is 52 million records,
 * about 38 GB. `retention_days` raises it where an operator's own obligations ask for longer.
 */

export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_PRUNE_INTERVAL_MS = 10 * 60_000;
/** About 100 ms of write lock at 10 million records (docs/performance-history.md "Traceback store"). */
export const DEFAULT_PRUNE_BATCH_ROWS = 500;
export const DEFAULT_PRUNE_PAUSE_MS = 50;
/** The first pass after start: soon, so an element that was down for weeks does not wait a whole interval. */
const FIRST_PASS_DELAY_MS = 60_000;
const DAY_MS = 86_400_000;

export interface RetentionOptions {
  readonly store: Pick<TracebackStore, 'prune'>;
  readonly retentionDays: number;
  /** Timers (test/support/fake-clock.ts in tests). */
  readonly clock: Clock;
  /** Wall-clock time, epoch ms, that record times compare with. Default `Date.now`. */
  readonly now?: () => number;
  readonly intervalMs?: number;
  readonly batchRows?: number;
  readonly batchPauseMs?: number;
  /** After each pass: how many records went. */
  readonly onPass?: (pruned: number) => void;
  /** A batch failed (disk, lock): the pass stops and the next one runs at the next interval. */
  readonly onError?: (err: unknown) => void;
}

export class RetentionPruner {
  readonly #o: RetentionOptions;
  readonly #now: () => number;
  #timer: TimerHandle | undefined;
  #stopped = true;

  constructor(options: RetentionOptions) {
    if (!(options.retentionDays > 0))
      throw new RangeError(`retentionDays must be > 0, got ${options.retentionDays}`);
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Schedules the first pass (after a minute, or the interval if shorter) and every one after it. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(() => this.#pass(), Math.min(FIRST_PASS_DELAY_MS, this.#interval()));
  }

  /** No further batch starts (one in flight completes: it is one short transaction). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The cut-off a pass starting now uses: records before it go. */
  cutoff(): number {
    return this.#now() - this.#o.retentionDays * DAY_MS;
  }

  #interval(): number {
    return this.#o.intervalMs ?? DEFAULT_PRUNE_INTERVAL_MS;
  }

  #schedule(fn: () => void, ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, ms);
  }

  #pass(): void {
    this.#batch(this.cutoff(), 0);
  }

  #batch(before: number, soFar: number): void {
    const rows = this.#o.batchRows ?? DEFAULT_PRUNE_BATCH_ROWS;
    this.#o.store.prune(before, rows).then(
      (n) => {
        if (n >= rows) {
          this.#schedule(
            () => this.#batch(before, soFar + n),
            this.#o.batchPauseMs ?? DEFAULT_PRUNE_PAUSE_MS,
          );
          return;
        }
        this.#o.onPass?.(soFar + n);
        this.#schedule(() => this.#pass(), this.#interval());
      },
      (err: unknown) => {
        this.#o.onError?.(err);
        this.#schedule(() => this.#pass(), this.#interval());
      },
    );
  }
}

import { type TracebackEvent, tracebackChannel } from '../events.js';
import type { Logger } from '../log/logger.js';
import { type Clock, realClock, type TimerHandle } from '../sip/transaction/timers.js';

/**
 * The traceback writer: the one subscriber of `stirgate:traceback` (src/events.ts). The call path publishes
 * and goes on; the subscriber only appends the (immutable) event to a bounded in-memory queue. A flush hands
 * a batch to the sink (the store thread, or in a cluster worker the IPC to the primary) every `flushMs`, or as
 * soon as `batchMax` events wait; one batch is in flight at a time, so a slow store makes the queue grow
 * instead of piling up promises.
 *
 * Bounded everywhere (docs/traceback.md "Losses"):
 * - `queueMax` bounds the events held: queued plus the batch in flight. An event past it is dropped and
 *   counted (`queue_full`); drops are logged at most once a second, with the count since the last line.
 * - A sink that rejects (store error: disk full, I/O error, the thread died) keeps its batch and retries it
 *   after `retryMs`, doubling, up to `retries` times; then the batch is dropped and counted (`store_error`).
 *   Why not retry forever: a store that stays broken would hold `queueMax` events forever and turn every new
 *   record into a `queue_full` drop with no sign of the cause; counting `store_error` names it. Why retry at
 *   all: the transient failures (SQLITE_BUSY while an operator's CLI checkpoints, a worker restart) pass
 *   within seconds, and a batch is one transaction, so a retry never writes a record twice.
 * - `close()` flushes what is queued, waiting at most `closeMs`; what is left then is dropped and counted.
 */
export type TracebackSink = (batch: readonly TracebackEvent[]) => Promise<void>;

/** Why an event never reached the store. */
export type TracebackDropReason = 'queue_full' | 'store_error' | 'closed';

export const TRACEBACK_DROP_REASONS: readonly TracebackDropReason[] = ['queue_full', 'store_error', 'closed'];

export interface TracebackWriterOptions {
  readonly sink: TracebackSink;
  /** Events held in memory (queued + in flight); past it new events are dropped. */
  readonly queueMax: number;
  /** Events per batch handed to the sink. */
  readonly batchMax: number;
  /** Longest an event waits before its batch is flushed. */
  readonly flushMs: number;
  readonly logger: Logger;
  /** Retries of a failed batch before it is dropped (default 3), first after `retryMs` (default 500). */
  readonly retries?: number;
  readonly retryMs?: number;
  /** How long `close()` waits for the last batches (default 5 s). */
  readonly closeMs?: number;
  readonly clock?: Clock;
}

export interface TracebackWriterStats {
  /** Events waiting: queued plus the batch in flight. */
  readonly queued: number;
  /** Events the sink accepted (the store committed them, or the primary received them). */
  readonly written: number;
  readonly dropped: Readonly<Record<TracebackDropReason, number>>;
  /** Batches the sink rejected (each retry counts). */
  readonly sinkErrors: number;
}

const LOG_INTERVAL_MS = 1000;

export class TracebackWriter {
  readonly #o: Required<Omit<TracebackWriterOptions, 'clock'>>;
  readonly #clock: Clock;
  #queue: TracebackEvent[] = [];
  #inFlight: readonly TracebackEvent[] = [];
  #flushTimer: TimerHandle | undefined;
  #flushing = false;
  #subscribed = false;
  #closing = false;
  /** Set once `close()` has counted what was left: a late sink answer changes nothing then. */
  #closed = false;
  #written = 0;
  #sinkErrors = 0;
  readonly #dropped: Record<TracebackDropReason, number> = { queue_full: 0, store_error: 0, closed: 0 };
  /** Drops not yet logged, and the timer that logs them (armed by the first drop of a quiet second). */
  #unlogged = 0;
  #logTimer: TimerHandle | undefined;
  #idle: (() => void) | undefined;

  constructor(o: TracebackWriterOptions) {
    this.#o = { retries: 3, retryMs: 500, closeMs: 5000, ...o };
    this.#clock = o.clock ?? realClock;
  }

  /** The subscriber: O(1), never waits, never throws into the publisher. */
  readonly accept = (e: TracebackEvent): void => {
    if (this.#closing || this.#queue.length + this.#inFlight.length >= this.#o.queueMax) {
      this.#drop(this.#closing ? 'closed' : 'queue_full', 1);
      return;
    }
    this.#queue.push(e);
    if (this.#flushing) return;
    if (this.#queue.length === this.#o.batchMax) {
      // A full batch: flush now, but not inline (the publisher is the call path), after the current task.
      this.#cancelFlushTimer();
      this.#flushTimer = this.#clock.setTimeout(() => this.#flush(), 0);
    } else if (this.#flushTimer === undefined) {
      this.#flushTimer = this.#clock.setTimeout(() => this.#flush(), this.#o.flushMs);
    }
  };

  /** Events from elsewhere (a cluster worker's batch, received by the primary): each as if published here. */
  acceptAll(batch: readonly TracebackEvent[]): void {
    for (const e of batch) this.accept(e);
  }

  /**
   * Subscribe to `stirgate:traceback`: from now on every call of this element is recorded. `owns` keeps the
   * events of this element only (the channel is process-wide; see RecordKeys in src/b2bua/traceback-events.ts).
   */
  subscribe(owns: (key: string) => boolean): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    this.#onEvent = (e) => {
      if (owns(e.key)) this.accept(e);
    };
    tracebackChannel.subscribe(this.#onEvent);
  }

  #onEvent: ((e: TracebackEvent) => void) | undefined;

  stats(): TracebackWriterStats {
    return {
      queued: this.#queue.length + this.#inFlight.length,
      written: this.#written,
      dropped: { ...this.#dropped },
      sinkErrors: this.#sinkErrors,
    };
  }

  /**
   * Unsubscribe, flush what is queued (waiting at most `closeMs`), then drop and count what is left. The sink
   * is not closed: its owner does that after.
   */
  async close(): Promise<void> {
    if (this.#onEvent !== undefined) tracebackChannel.unsubscribe(this.#onEvent);
    this.#subscribed = false;
    if (this.#closing) return;
    this.#closing = true;
    const drained = new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
    if (!this.#flushing) {
      this.#cancelFlushTimer();
      this.#flush();
    }
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, this.#o.closeMs);
    });
    await Promise.race([drained, timedOut]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#cancelFlushTimer();
    const left = this.#queue.length + this.#inFlight.length;
    this.#queue = [];
    this.#inFlight = [];
    this.#closed = true;
    if (left > 0) this.#drop('closed', left);
    if (this.#logTimer !== undefined) this.#clock.clearTimeout(this.#logTimer);
    this.#logTimer = undefined;
    this.#logDrops();
  }

  #cancelFlushTimer(): void {
    if (this.#flushTimer !== undefined) this.#clock.clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  /** Take the next batch and hand it to the sink; re-arms itself while events wait. */
  #flush(): void {
    this.#flushTimer = undefined;
    if (this.#flushing) return;
    if (this.#queue.length === 0) {
      this.#idle?.();
      return;
    }
    const max = this.#o.batchMax;
    let batch: TracebackEvent[];
    if (this.#queue.length <= max) {
      batch = this.#queue;
      this.#queue = [];
    } else {
      batch = this.#queue.slice(0, max);
      this.#queue = this.#queue.slice(max);
    }
    this.#flushing = true;
    this.#inFlight = batch;
    this.#send(batch, 0);
  }

  #send(batch: readonly TracebackEvent[], attempt: number): void {
    let sent: Promise<void>;
    try {
      sent = this.#o.sink(batch);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => {
        if (this.#closed) return;
        this.#written += batch.length;
        this.#done();
      },
      (err: unknown) => {
        if (this.#closed) return;
        this.#sinkErrors++;
        if (attempt < this.#o.retries && !this.#closing) {
          this.#o.logger.warn(
            { err, event: 'traceback_store_error', batch: batch.length, attempt: attempt + 1 },
            'traceback store rejected a batch; retrying it',
          );
          this.#clock.setTimeout(
            () => {
              if (!this.#closed) this.#send(batch, attempt + 1);
            },
            this.#o.retryMs * 2 ** attempt,
          );
          return;
        }
        this.#o.logger.error(
          { err, event: 'traceback_store_error', batch: batch.length, attempt: attempt + 1 },
          'traceback store rejected a batch; its records are dropped',
        );
        this.#drop('store_error', batch.length);
        this.#done();
      },
    );
  }

  #done(): void {
    this.#flushing = false;
    this.#inFlight = [];
    if (this.#queue.length >= this.#o.batchMax || (this.#closing && this.#queue.length > 0)) this.#flush();
    else if (this.#queue.length > 0) {
      this.#flushTimer ??= this.#clock.setTimeout(() => this.#flush(), this.#o.flushMs);
    } else this.#idle?.();
  }

  /** Count, and log at most once a second: the first drop of a quiet second at once, the rest summed. */
  #drop(reason: TracebackDropReason, n: number): void {
    this.#dropped[reason] += n;
    this.#unlogged += n;
    if (this.#logTimer !== undefined) return;
    this.#logDrops();
    this.#logTimer = this.#clock.setTimeout(() => this.#onLogTimer(), LOG_INTERVAL_MS);
  }

  #onLogTimer(): void {
    this.#logTimer = undefined;
    if (this.#unlogged === 0) return;
    this.#logDrops();
    this.#logTimer = this.#clock.setTimeout(() => this.#onLogTimer(), LOG_INTERVAL_MS);
  }

  #logDrops(): void {
    if (this.#unlogged === 0) return;
    const n = this.#unlogged;
    this.#unlogged = 0;
    this.#o.logger.warn(
      { event: 'traceback_dropped', dropped: n, total: { ...this.#dropped } },
      'traceback records dropped',
    );
  }
}

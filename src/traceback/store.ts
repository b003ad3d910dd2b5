import type { TracebackEvent } from '../events.js';
import type { TracebackRecord } from './record.js';

/**
 * Where traceback records live, behind one interface (the scale-out issue adds PostgreSQL next to the
 * embedded SQLite store). Every method may do I/O: callers on the SIP event loop reach a store only through
 * an asynchronous boundary (a worker thread, a process), never synchronously.
 */
export interface TracebackStore {
  /**
   * Write a batch in one transaction: call events insert records (a key already on record is ignored), end
   * events complete them. An end whose call is not on record is held (bounded) until its call arrives; the
   * outcome counts the held ends pushed out by newer ones.
   */
  write(batch: readonly TracebackEvent[]): Promise<TracebackWriteOutcome>;
  query(q: TracebackQuery): Promise<TracebackQueryResult>;
  /** Delete up to `limit` records older than `before` (epoch ms); returns how many went. */
  prune(before: number, limit: number): Promise<number>;
  close(): Promise<void>;
}

/** What one batch did. */
export interface TracebackWriteOutcome {
  /** Call events that made a new record. */
  readonly inserted: number;
  /** End events applied to their record (now, or a held one whose call arrived in this batch). */
  readonly ended: number;
  /** Ends held after this batch, waiting for their call. */
  readonly pendingEnds: number;
  /** Held ends dropped by this batch to keep the bound (the oldest first). */
  readonly droppedEnds: number;
}

/** Time window, epoch ms, inclusive. Number and origid searches need one (no full scans). */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

export type TracebackQuery =
  /**
   * A PASSporT we signed: SHA-256 of its compact form, base64url (src/b2bua/traceback-events.ts), and its
   * `iat` (the index is (iat, digest): iat grows with time, so writing it appends instead of touching a random
   * page per record; docs/performance-history.md "Traceback store").
   */
  | { readonly by: 'digest'; readonly digest: string; readonly iat: number; readonly limit: number }
  /** A PASSporT we did not sign (or verified): its claims. */
  | {
      readonly by: 'passport';
      readonly origid: string;
      readonly iat: number;
      readonly orig?: string;
      readonly dest?: string;
      readonly limit: number;
    }
  | { readonly by: 'origid'; readonly origid: string; readonly window: TimeWindow; readonly limit: number }
  | {
      readonly by: 'numbers';
      /** Canonical E.164 digits (src/stir/tn.ts). */
      readonly orig: string;
      readonly dest?: string;
      readonly window: TimeWindow;
      readonly limit: number;
    }
  /** Either leg's Call-ID. */
  | { readonly by: 'callId'; readonly callId: string; readonly limit: number };

export interface TracebackQueryResult {
  /** Newest first. */
  readonly records: readonly TracebackRecord[];
  /** More matched than `limit`. */
  readonly truncated: boolean;
}

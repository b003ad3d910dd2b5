import type { TracebackEvent } from '../events.js';
import type { TracebackRecord } from './record.js';

/**
 * Where traceback records live, behind one interface (the scale-out issue adds PostgreSQL next to the
 * embedded SQLite store). Every method may do I/O: callers on the SIP event loop reach a store only through
 * an asynchronous boundary (a worker thread, a process), never synchronously.
 */
export interface TracebackStore {
  /**
   * Write a batch in one transaction: call events insert records, end events complete them (an end whose
   * call is not on record is kept until its call arrives, or dropped and counted at close).
   */
  write(batch: readonly TracebackEvent[]): Promise<void>;
  query(q: TracebackQuery): Promise<TracebackQueryResult>;
  /** Delete up to `limit` records older than `before` (epoch ms); returns how many went. */
  prune(before: number, limit: number): Promise<number>;
  close(): Promise<void>;
}

/** Time window, epoch ms, inclusive. Number and origid searches need one (no full scans). */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

export type TracebackQuery =
  /** A PASSporT we signed: SHA-256 of its compact form, base64url (src/b2bua/traceback-events.ts). */
  | { readonly by: 'digest'; readonly digest: string; readonly limit: number }
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

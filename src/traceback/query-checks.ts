import { TracebackQueryError } from './errors.js';
import type { TimeWindow, TracebackQuery } from './store.js';

/**
 * The limits every traceback store enforces before it runs a query (the embedded SQLite store and the
 * scale-out PostgreSQL one alike), so that no query is a full scan and no answer is unbounded.
 */

/** Widest time window a number or origid search may name (31 days: a month of records, one index range). */
export const MAX_QUERY_WINDOW_MS = 31 * 24 * 3600 * 1000;

/** Most records one answer holds (`truncated` says when more matched). */
export const MAX_QUERY_LIMIT = 1000;

/** Throws a `TracebackQueryError` when `q` names an inverted or too wide window, or a limit out of range. */
export function checkQuery(q: TracebackQuery): void {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_QUERY_LIMIT)
    throw new TracebackQueryError(
      'limit_out_of_range',
      `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${q.limit}`,
    );
  if (q.by === 'origid' || q.by === 'numbers') checkWindow(q.window);
}

function checkWindow(w: TimeWindow): void {
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to) || w.from > w.to)
    throw new TracebackQueryError(
      'window_inverted',
      `time window ends before it starts (${w.from} > ${w.to})`,
    );
  if (w.to - w.from > MAX_QUERY_WINDOW_MS)
    throw new TracebackQueryError(
      'window_too_wide',
      `time window is ${Math.ceil((w.to - w.from) / 86_400_000)} days; at most ${MAX_QUERY_WINDOW_MS / 86_400_000} days may be searched at once`,
    );
}

import { StirgateError } from '../errors.js';

/**
 * A traceback query this store will not run (docs/traceback.md "Queries"). The admin API answers 400 for
 * `window_inverted` and `limit_out_of_range` (malformed) and 422 for `window_too_wide` (valid, but a scan this
 * store refuses: narrow the window).
 */
export type TracebackQueryErrorCode = 'window_inverted' | 'window_too_wide' | 'limit_out_of_range';

export class TracebackQueryError extends StirgateError<TracebackQueryErrorCode> {}

/**
 * The traceback database cannot be used: `not_found` (read-only open of a file that does not exist),
 * `not_a_database` (the file is not SQLite, or is damaged), `schema_too_new` (written by a newer Stirgate:
 * refused rather than misread), `schema_too_old` (read-only open of a file the element has not migrated yet),
 * `open_failed` (any other reason the file cannot be opened), `write_failed` and `query_failed` (SQLite refused
 * a batch, a prune or a query: the disk is full, another process holds the lock past the busy timeout, ...);
 * `cause` is SQLite's error.
 */
export type TracebackStoreErrorCode =
  | 'not_found'
  | 'not_a_database'
  | 'schema_too_new'
  | 'schema_too_old'
  | 'open_failed'
  | 'write_failed'
  | 'query_failed';

export class TracebackStoreError extends StirgateError<TracebackStoreErrorCode> {}

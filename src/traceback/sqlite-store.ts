import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import type { TracebackEvent } from '../events.js';
import { TracebackStoreError } from './errors.js';
import { checkNotNewer, migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { checkQuery } from './query-checks.js';
import type { TracebackRecord } from './record.js';
import { callEventValues, endEventValues, RECORD_COLUMNS, recordOf } from './sqlite-rows.js';
import type { TracebackQuery, TracebackQueryResult, TracebackStore, TracebackWriteOutcome } from './store.js';

/**
 * The embedded traceback store: one SQLite file in `data_dir` through `node:sqlite` (docs/traceback.md).
 *
 * `DatabaseSync` is synchronous: every call here blocks its thread for the duration of the SQL. This module
 * therefore runs only in the traceback writer's worker thread, the cluster primary, or the `stirgate
 * traceback` CLI process, never on a SIP event loop (and src/main.ts must not import it: Node 20 cannot
 * link `node:sqlite`).
 *
 * - The file is created with mode 0600 (its records hold telephone numbers); SQLite gives its `-wal` and
 *   `-shm` files the same mode.
 * - WAL with `synchronous=NORMAL`: a committed batch survives a crash of the process (`kill -9`), since
 *   it is in the WAL file the kernel holds; a power loss or kernel crash can lose the batches committed
 *   since the last checkpoint's fsync, never corrupt the file (https://www.sqlite.org/wal.html).
 * - Writes come in batches, one transaction each. A call event inserts its record (a repeated key is
 *   ignored); an end event completes it. An end whose call is not on record yet waits in `pending_ends`
 *   and is applied when the call arrives; at most `maxPendingEnds` wait, the oldest go first (counted in
 *   the write outcome), and retention prunes them with the records.
 * - Every query runs on a named index (`INDEXED BY`: SQLite refuses the statement rather than scan) and
 *   asks for `limit + 1` rows to set `truncated`.
 */

export interface TracebackDbOptions {
  /** Open an existing file for queries only (the CLI): no migration, no writes. */
  readonly readOnly?: boolean;
  /** How long a statement waits for another connection's lock (SQLite busy timeout). Default 5 s. */
  readonly busyTimeoutMs?: number;
  /** Page cache of this connection. Default 64 MiB. */
  readonly cacheKiB?: number;
  /** Ends kept while their call is not on record. Default 10,000. */
  readonly maxPendingEnds?: number;
}

/** The file's name in `data_dir` (the writer creates it, the CLI reads it). */
export const TRACEBACK_DB_FILE = 'traceback.db';

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_CACHE_KIB = 64 * 1024;
/** WAL pages between automatic checkpoints (SQLite's default: 1000). */
const WAL_AUTOCHECKPOINT_PAGES = 50_000;
const DEFAULT_MAX_PENDING_ENDS = 10_000;

/** SQLite result codes this module tells apart (https://www.sqlite.org/rescode.html). */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

const SELECT = `SELECT ${RECORD_COLUMNS.join(', ')}, end_time, answered, end_status, duration_ms, end_cause FROM records`;

/** The synchronous store: what the writer thread, the cluster primary and the CLI call. */
export class TracebackDb {
  readonly file: string;
  readonly readOnly: boolean;
  readonly #db: DatabaseSync;
  readonly #maxPendingEnds: number;
  #pendingEnds = 0;
  #statements = new Map<string, StatementSync>();

  private constructor(file: string, db: DatabaseSync, options: TracebackDbOptions) {
    this.file = file;
    this.#db = db;
    this.readOnly = options.readOnly === true;
    this.#maxPendingEnds = options.maxPendingEnds ?? DEFAULT_MAX_PENDING_ENDS;
  }

  /**
   * Opens (and, unless read-only, creates and migrates) the traceback database at `file`. Throws a
   * `TracebackStoreError` naming the file when it is missing (read-only), not a database, or of another
   * schema version.
   */
  static open(file: string, options: TracebackDbOptions = {}): TracebackDb {
    const readOnly = options.readOnly === true;
    if (readOnly && !existsSync(file))
      throw new TracebackStoreError('not_found', `${file}: no traceback database (has the element run?)`);
    if (!readOnly) createPrivate(file);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(file, { readOnly, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    } catch (err) {
      throw storeError(err, file, 'open_failed');
    }
    try {
      const self = new TracebackDb(file, db, options);
      self.#init(options);
      return self;
    } catch (err) {
      db.close();
      throw storeError(err, file, 'open_failed');
    }
  }

  #init(options: TracebackDbOptions): void {
    const db = this.#db;
    db.exec(`PRAGMA cache_size = -${Math.floor(options.cacheKiB ?? DEFAULT_CACHE_KIB)}`);
    if (this.readOnly) {
      const version = schemaVersion(db);
      checkNotNewer(version, this.file);
      if (version < SCHEMA_VERSION)
        throw new TracebackStoreError(
          'schema_too_old',
          `${this.file}: traceback schema version ${version}, this Stirgate reads ${SCHEMA_VERSION}; start the element once to migrate it`,
        );
    } else {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      // Checkpoint every ~200 MB of WAL (4 KiB pages) instead of SQLite's 4 MB: the random-keyed indexes
      // (numbers, Call-IDs) dirty pages all over the file, and each checkpoint copies and fsyncs them. At 1M
      // records: 13,000 -> 18,400 records/s (docs/performance-history.md "Traceback store"). Durability is unchanged
      // (synchronous=NORMAL: a committed batch survives a process crash); the WAL file is truncated back to
      // 64 MiB after each checkpoint.
      db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      db.exec(`PRAGMA journal_size_limit = ${64 * 1024 * 1024}`);
      migrate(db, this.file);
    }
    this.#pendingEnds = (db.prepare('SELECT count(*) AS n FROM pending_ends').get() as { n: number }).n;
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Writes a batch in one transaction (module header). */
  writeBatch(batch: readonly TracebackEvent[]): TracebackWriteOutcome {
    const insert = this.#stmt(
      // ON CONFLICT, not OR IGNORE: only a repeated key is skipped; a NULL where none may be fails the batch.
      `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (id) DO NOTHING`,
    );
    let inserted = 0;
    let ended = 0;
    let dropped = 0;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const e of batch) {
        if (e.kind === 'call') {
          if (insert.run(...callEventValues(e)).changes === 0) continue;
          inserted++;
          if (this.#pendingEnds > 0) ended += this.#applyPendingEnd(e.key);
        } else if (this.#applyEnd(endEventValues(e), e.key) > 0) {
          ended++;
        } else {
          dropped += this.#holdEnd(endEventValues(e), e.key);
        }
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#rollback();
      this.#pendingEnds = this.#countPending();
      throw storeError(err, this.file, 'write_failed');
    }
    return { inserted, ended, pendingEnds: this.#pendingEnds, droppedEnds: dropped };
  }

  /**
   * Completes the record `key` with an end's values (`endEventValues`); returns 1, or 0 when it is not on
   * record. The B-leg and next hop are only written when a failover moved them (each is indexed or wide:
   * rewriting them for every call would cost an index update per end).
   */
  #applyEnd(values: SQLInputValue[], key: string): number {
    const moved = values[5] !== null || values[6] !== null;
    const statement = moved
      ? this.#stmt(
          `UPDATE records SET end_time = ?, answered = ?, end_status = ?, duration_ms = ?, end_cause = ?,
             b_call_id = coalesce(?, b_call_id), next_hop = coalesce(?, next_hop) WHERE id = ?`,
        )
      : this.#stmt(
          'UPDATE records SET end_time = ?, answered = ?, end_status = ?, duration_ms = ?, end_cause = ? WHERE id = ?',
        );
    return Number(
      (moved ? statement.run(...values, key) : statement.run(...values.slice(0, 5), key)).changes,
    );
  }

  #applyPendingEnd(key: string): number {
    const row = this.#stmt(
      'DELETE FROM pending_ends WHERE id = ? RETURNING time, answered, end_status, duration_ms, end_cause, b_call_id, next_hop',
    ).get(key);
    if (row === undefined) return 0;
    this.#pendingEnds--;
    const values = [
      row['time'],
      row['answered'],
      row['end_status'],
      row['duration_ms'],
      row['end_cause'],
      row['b_call_id'],
      row['next_hop'],
    ] as SQLInputValue[];
    return this.#applyEnd(values, key);
  }

  /**
   * Keeps an end for a call not on record (the first end of a key wins: a call ends once); returns how many
   * older ones it pushed out to keep the bound.
   */
  #holdEnd(values: SQLInputValue[], key: string): number {
    const held = this.#stmt(
      `INSERT INTO pending_ends (time, answered, end_status, duration_ms, end_cause, b_call_id, next_hop, id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(...values, key);
    this.#pendingEnds += Number(held.changes);
    if (this.#pendingEnds <= this.#maxPendingEnds) return 0;
    const gone = Number(
      this.#stmt(
        'DELETE FROM pending_ends WHERE id IN (SELECT id FROM pending_ends ORDER BY time LIMIT ?)',
      ).run(this.#pendingEnds - this.#maxPendingEnds).changes,
    );
    this.#pendingEnds -= gone;
    return gone;
  }

  #countPending(): number {
    return (this.#stmt('SELECT count(*) AS n FROM pending_ends').get() as { n: number }).n;
  }

  #rollback(): void {
    try {
      this.#db.exec('ROLLBACK');
    } catch {
      // Already rolled back by SQLite (e.g. after SQLITE_FULL); nothing left to undo.
    }
  }

  /** Records matching `q`, newest first (throws `TracebackQueryError` for a query the limits refuse). */
  query(q: TracebackQuery): TracebackQueryResult {
    checkQuery(q);
    const n = q.limit + 1;
    let rows: Record<string, SQLOutputValue>[];
    try {
      rows = this.#run(q, n);
    } catch (err) {
      throw storeError(err, this.file, 'query_failed');
    }
    const truncated = rows.length > q.limit;
    const records: TracebackRecord[] = [];
    for (let i = 0; i < rows.length && i < q.limit; i++) records.push(recordOf(rows[i]!));
    return { records, truncated };
  }

  #run(q: TracebackQuery, n: number): Record<string, SQLOutputValue>[] {
    switch (q.by) {
      case 'digest':
        return this.#stmt(
          `${SELECT} INDEXED BY records_digest WHERE s_iat = ? AND digest = ? ORDER BY time DESC LIMIT ?`,
        ).all(q.iat, q.digest, n);
      case 'passport':
        return this.#stmt(
          `${SELECT} INDEXED BY records_iat_origid WHERE iat = ?2 AND origid = ?1
             AND (?3 IS NULL OR calling = ?3) AND (?4 IS NULL OR called = ?4) ORDER BY time DESC LIMIT ?5`,
        ).all(q.origid, q.iat, q.orig ?? null, q.dest ?? null, n);
      case 'origid':
        return this.#stmt(
          `${SELECT} INDEXED BY records_origid_time WHERE origid = ? AND time BETWEEN ? AND ?
             ORDER BY time DESC LIMIT ?`,
        ).all(q.origid, q.window.from, q.window.to, n);
      case 'numbers':
        return q.dest === undefined
          ? this.#stmt(
              `${SELECT} INDEXED BY records_calling_time WHERE calling = ? AND time BETWEEN ? AND ?
                 ORDER BY time DESC LIMIT ?`,
            ).all(q.orig, q.window.from, q.window.to, n)
          : this.#stmt(
              `${SELECT} INDEXED BY records_calling_time WHERE calling = ? AND time BETWEEN ? AND ? AND called = ?
                 ORDER BY time DESC LIMIT ?`,
            ).all(q.orig, q.window.from, q.window.to, q.dest, n);
      case 'callId':
        return this.#stmt(
          `${SELECT} INDEXED BY records_a_call_id WHERE a_call_id = ?1
           UNION ${SELECT} INDEXED BY records_b_call_id WHERE b_call_id = ?1
           ORDER BY time DESC LIMIT ?2`,
        ).all(q.callId, n);
    }
  }

  /**
   * Deletes up to `limit` records older than `before` (epoch ms), oldest first by the time index, in one short
   * transaction, and the held ends older than `before`. Returns how many records went.
   */
  prune(before: number, limit: number): number {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const gone = this.#stmt(
        `DELETE FROM records WHERE rowid IN
           (SELECT rowid FROM records INDEXED BY records_time WHERE time < ? ORDER BY time LIMIT ?)`,
      ).run(before, limit).changes;
      const ends = this.#stmt('DELETE FROM pending_ends WHERE time < ?').run(before).changes;
      this.#db.exec('COMMIT');
      this.#pendingEnds -= Number(ends);
      return Number(gone);
    } catch (err) {
      this.#rollback();
      throw storeError(err, this.file, 'write_failed');
    }
  }

  /** Closes the connection (a writer first lets SQLite refresh its query statistics). */
  close(): void {
    if (!this.#db.isOpen) return;
    if (!this.readOnly) {
      try {
        this.#db.exec('PRAGMA optimize');
      } catch {
        // Statistics are an optimisation; closing matters more.
      }
    }
    this.#statements.clear();
    this.#db.close();
  }
}

/** `TracebackDb.open`: the synchronous store at `file` (see there). */
export function openTracebackDb(file: string, options?: TracebackDbOptions): TracebackDb {
  return TracebackDb.open(file, options);
}

/** The `TracebackStore` interface over `TracebackDb`, for callers that hold a store by its interface. */
export class SqliteTracebackStore implements TracebackStore {
  readonly db: TracebackDb;

  constructor(db: TracebackDb) {
    this.db = db;
  }

  static open(file: string, options?: TracebackDbOptions): SqliteTracebackStore {
    return new SqliteTracebackStore(TracebackDb.open(file, options));
  }

  write(batch: readonly TracebackEvent[]): Promise<TracebackWriteOutcome> {
    return settle(() => this.db.writeBatch(batch));
  }

  query(q: TracebackQuery): Promise<TracebackQueryResult> {
    return settle(() => this.db.query(q));
  }

  prune(before: number, limit: number): Promise<number> {
    return settle(() => this.db.prune(before, limit));
  }

  close(): Promise<void> {
    return settle(() => this.db.close());
  }
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Creates `file` empty with mode 0600 when it does not exist (SQLite would create it with the umask's mode). */
function createPrivate(file: string): void {
  try {
    closeSync(openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new TracebackStoreError('open_failed', `${file}: cannot create the traceback database`, {
      cause: err,
    });
  }
}

/** A SQLite or file error as a `TracebackStoreError` naming the file (already-typed errors pass through). */
function storeError(
  err: unknown,
  file: string,
  otherwise: 'open_failed' | 'write_failed' | 'query_failed',
): Error {
  if (err instanceof TracebackStoreError || !(err instanceof Error)) return err as Error;
  const errcode = (err as { errcode?: number }).errcode;
  if (errcode === SQLITE_NOTADB || errcode === SQLITE_CORRUPT)
    return new TracebackStoreError('not_a_database', `${file}: not a traceback database, or damaged`, {
      cause: err,
    });
  return new TracebackStoreError(otherwise, `${file}: ${err.message}`, { cause: err });
}

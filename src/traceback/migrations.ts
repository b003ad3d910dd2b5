import type { DatabaseSync } from 'node:sqlite';
import { TracebackStoreError } from './errors.js';

/**
 * The traceback database's schema, as an ordered list of migrations. `PRAGMA user_version` is the number of
 * migrations applied; opening a file applies the missing ones in one transaction each, and a file whose version
 * is above `SCHEMA_VERSION` (written by a newer Stirgate) is refused, never misread. Append new migrations;
 * never edit one that has shipped.
 *
 * Indexes, one per query kind (src/traceback/store.ts `TracebackQuery`) and their cost on ingest
 * (docs/performance-history.md "Traceback store"): the call key (unique, applies end events), (iat, digest) for a
 * PASSporT we signed and (iat, origid) for a pasted PASSporT's claims (iat first: it grows with time, so these
 * two are appended to, not written at random pages), (origid, time) for an origid and a window,
 * (calling, time, called) for numbers and a window (the called number is in the index, so a search with a
 * destination filters without reading rows), either leg's Call-ID, and time (retention). The ones on
 * columns that are often NULL are partial.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the records and the ends that arrived before their call.
  `CREATE TABLE records (
     id TEXT NOT NULL,
     time INTEGER NOT NULL,
     role TEXT NOT NULL,
     customer TEXT,
     trunk TEXT NOT NULL,
     trunk_role TEXT NOT NULL,
     src_address TEXT NOT NULL,
     src_port INTEGER NOT NULL,
     transport TEXT NOT NULL,
     a_call_id TEXT NOT NULL,
     b_call_id TEXT,
     next_hop TEXT,
     calling_received TEXT,
     calling TEXT,
     called_received TEXT,
     called TEXT,
     s_attest TEXT,
     s_origid TEXT,
     s_iat INTEGER,
     digest TEXT,
     v_code TEXT,
     v_verstat TEXT,
     v_attest TEXT,
     v_origid TEXT,
     v_iat INTEGER,
     v_x5u TEXT,
     v_spc TEXT,
     v_subject TEXT,
     r_status INTEGER,
     r_cause TEXT,
     r_detail TEXT,
     end_time INTEGER,
     answered INTEGER,
     end_status INTEGER,
     duration_ms INTEGER,
     end_cause TEXT,
     origid TEXT GENERATED ALWAYS AS (coalesce(s_origid, v_origid)) VIRTUAL,
     iat INTEGER GENERATED ALWAYS AS (coalesce(s_iat, v_iat)) VIRTUAL
   );
   CREATE UNIQUE INDEX records_id ON records (id);
   CREATE INDEX records_digest ON records (s_iat, digest) WHERE digest IS NOT NULL;
   CREATE INDEX records_iat_origid ON records (iat, origid) WHERE origid IS NOT NULL;
   CREATE INDEX records_origid_time ON records (origid, time) WHERE origid IS NOT NULL;
   CREATE INDEX records_calling_time ON records (calling, time, called) WHERE calling IS NOT NULL;
   CREATE INDEX records_a_call_id ON records (a_call_id);
   CREATE INDEX records_b_call_id ON records (b_call_id) WHERE b_call_id IS NOT NULL;
   CREATE INDEX records_time ON records (time);
   CREATE TABLE pending_ends (
     id TEXT PRIMARY KEY,
     time INTEGER NOT NULL,
     b_call_id TEXT,
     next_hop TEXT,
     answered INTEGER NOT NULL,
     end_status INTEGER,
     duration_ms INTEGER,
     end_cause TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX pending_ends_time ON pending_ends (time);`,
  // 2: operator controls (src/control/): blocks (removed ones kept, for `?all=true` and the record of why a
  // call was refused), customer limit overrides, and the audit log, append-only: its triggers refuse any
  // UPDATE or DELETE (ADMIN-API.md). Retention never touches these tables.
  `CREATE TABLE blocks (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     match_kind TEXT NOT NULL,
     match_value TEXT NOT NULL,
     action TEXT NOT NULL,
     reason TEXT NOT NULL,
     ticket TEXT NOT NULL,
     expires INTEGER,
     actor TEXT NOT NULL,
     created INTEGER NOT NULL,
     removed_time INTEGER,
     removed_actor TEXT,
     removed_reason TEXT
   );
   CREATE INDEX blocks_active ON blocks (seq) WHERE removed_time IS NULL;
   CREATE TABLE limit_overrides (
     customer TEXT PRIMARY KEY,
     cps INTEGER,
     burst INTEGER,
     max_concurrent INTEGER,
     updated INTEGER NOT NULL,
     actor TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY,
     time INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     object TEXT NOT NULL,
     before TEXT,
     after TEXT,
     reason TEXT
   );
   CREATE INDEX audit_time ON audit (time);
   CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
   CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

/** Refuses a file written by a newer Stirgate (its schema version above `known`). */
export function checkNotNewer(version: number, file: string, known = SCHEMA_VERSION): void {
  if (version > known)
    throw new TracebackStoreError(
      'schema_too_new',
      `${file}: traceback schema version ${version} is newer than this Stirgate's (${known}); upgrade Stirgate or point data_dir elsewhere`,
    );
}

/**
 * Applies the migrations `db` lacks, each in its own transaction; returns the version it started from.
 * `migrations` is the list above except in tests.
 */
export function migrate(db: DatabaseSync, file: string, migrations: readonly string[] = MIGRATIONS): number {
  const from = schemaVersion(db);
  checkNotNewer(from, file, migrations.length);
  for (let v = from; v < migrations.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migrations[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
  return from;
}

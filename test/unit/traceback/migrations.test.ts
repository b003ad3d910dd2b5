/** The traceback schema's migrations on real SQLite files: from empty, from v1, a newer file refused. */
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from '../../../src/traceback/migrations.js';
import { TracebackDb } from '../../../src/traceback/sqlite-store.js';
import { signedCall, tmpDir } from './traceback-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function raw(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  cleanups.push(() => db.isOpen && db.close());
  return db;
}

function fresh(): string {
  const t = tmpDir();
  cleanups.push(t.cleanup);
  return t.file;
}

const names = (db: DatabaseSync, type: string) =>
  (
    db
      .prepare(`SELECT name FROM sqlite_schema WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .all(type) as {
      name: string;
    }[]
  ).map((r) => r.name);

describe('traceback migrations', () => {
  it('an empty file gets every migration: the tables, one index per query kind, the version', () => {
    const file = fresh();
    TracebackDb.open(file).close();
    const db = raw(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(names(db, 'table')).toEqual(['audit', 'blocks', 'limit_overrides', 'pending_ends', 'records']);
    expect(names(db, 'trigger')).toEqual(['audit_no_delete', 'audit_no_update']);
    expect(names(db, 'index')).toEqual([
      'audit_time',
      'blocks_active',
      'pending_ends_time',
      'records_a_call_id',
      'records_b_call_id',
      'records_calling_time',
      'records_digest',
      'records_iat_origid',
      'records_id',
      'records_origid_time',
      'records_time',
    ]);
  });

  it('a v1 file keeps its records, and a later migration applies to it once', () => {
    const file = fresh();
    const v1 = raw(file);
    expect(migrate(v1, file, MIGRATIONS.slice(0, 1))).toBe(0);
    v1.close();
    const store = TracebackDb.open(file);
    store.writeBatch([signedCall(1)]);
    store.close();

    // Opening it applied the shipped ones after 1; a later one applies on top, once.
    const next = [...MIGRATIONS, 'ALTER TABLE records ADD COLUMN note TEXT'];
    const db = raw(file);
    expect(migrate(db, file, next)).toBe(SCHEMA_VERSION);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION + 1);
    expect(db.prepare('SELECT id, note FROM records').all()).toEqual([{ id: signedCall(1).key, note: null }]);
    expect(migrate(db, file, next)).toBe(SCHEMA_VERSION + 1);
  });

  it('a migration that fails leaves the file at the version before it', () => {
    const file = fresh();
    const db = raw(file);
    expect(() => migrate(db, file, ['CREATE TABLE a (x)', 'CREATE TABLE b (y); THIS IS NOT SQL'])).toThrow();
    expect(schemaVersion(db)).toBe(1);
    expect(names(db, 'table')).toEqual(['a']);
  });

  it('a file from a newer Stirgate is refused, read-write and read-only, and left untouched', () => {
    const file = fresh();
    TracebackDb.open(file).close();
    const db = raw(file);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    for (const readOnly of [false, true])
      expect(() => TracebackDb.open(file, { readOnly })).toThrow(
        expect.objectContaining({
          code: 'schema_too_new',
          message: expect.stringContaining(`version ${SCHEMA_VERSION + 1} is newer`),
        }),
      );
    expect(schemaVersion(raw(file))).toBe(SCHEMA_VERSION + 1);
  });

  it('a read-only open of a file not yet migrated asks for the element to migrate it', () => {
    const file = fresh();
    raw(file).exec('CREATE TABLE unrelated (x)');
    expect(() => TracebackDb.open(file, { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'schema_too_old' }),
    );
  });
});

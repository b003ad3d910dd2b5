/**
 * The embedded traceback store on real SQLite files in a tmp dir: every field round-trips from real event
 * shapes, ends before their call, each query kind newest first with `truncated`, the window and limit caps,
 * the file's mode and journal, and a damaged file.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import type { TracebackEvent } from '../../../src/events.js';
import { TracebackQueryError, TracebackStoreError } from '../../../src/traceback/errors.js';
import { MAX_QUERY_LIMIT, MAX_QUERY_WINDOW_MS } from '../../../src/traceback/query-checks.js';
import { SqliteTracebackStore, TracebackDb } from '../../../src/traceback/sqlite-store.js';
import { endOf, ORIGID, refusedInvite, signedCall, T0, tmpDir, verifiedCall } from './traceback-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function openDb(options?: Parameters<typeof TracebackDb.open>[1]): { db: TracebackDb; file: string } {
  const t = tmpDir();
  const db = TracebackDb.open(t.file, options);
  cleanups.push(t.cleanup, () => db.close());
  return { db, file: t.file };
}

const DAY = 86_400_000;

/** The digest query for `signedCall(n)`: its digest and iat. */
function byDigest(n: number, limit: number) {
  return { by: 'digest', digest: `digest-${n}`, iat: signedCall(n).signed!.iat, limit } as const;
}
const wide = { from: T0 - DAY, to: T0 + DAY };

describe('TracebackDb', () => {
  it('gives back every field of a signed, a verified and a refused call, with its end', () => {
    const { db } = openDb();
    const s = signedCall(1);
    const v = verifiedCall(2);
    const r = refusedInvite(3);
    const out = db.writeBatch([
      s,
      v,
      r,
      endOf(s),
      endOf(v, { answered: false, status: 486, durationMs: undefined, cause: 'rejected' }),
    ]);
    expect(out).toEqual({ inserted: 3, ended: 2, pendingEnds: 0, droppedEnds: 0 });

    const [signed] = db.query(byDigest(1, 10)).records;
    expect(signed).toEqual({
      id: s.key,
      time: s.time,
      role: 'signed',
      customer: 'acme',
      trunk: 'acme-pbx',
      trunkRole: 'originating',
      source: { address: '192.0.2.10', port: 5060, transport: 'udp' },
      callId: s.aCallId,
      bCallId: s.bCallId,
      nextHop: 'udp:198.51.100.7:5060',
      calling: { received: '2025550100', canonical: '12025550100' },
      called: { received: '+1 202 555 0199', canonical: '12025550199' },
      signed: { attest: 'A', origid: ORIGID, iat: s.signed!.iat, digest: 'digest-1' },
      verified: null,
      refused: null,
      end: { time: s.time + 65_000, answered: true, status: 200, durationMs: 60_000, cause: 'bye' },
    });

    const [verified] = db.query({ by: 'callId', callId: v.aCallId, limit: 10 }).records;
    expect(verified).toEqual({
      id: v.key,
      time: v.time,
      role: 'verified',
      customer: null,
      trunk: 'peer',
      trunkRole: 'terminating',
      source: { address: '2001:db8::5', port: 5070, transport: 'tcp' },
      callId: v.aCallId,
      bCallId: v.bCallId,
      nextHop: 'tcp:[2001:db8::9]:5060',
      calling: { received: '+12025550123', canonical: '12025550123' },
      called: { received: '12025550188', canonical: '12025550188' },
      signed: null,
      verified: { ...v.verified },
      refused: null,
      end: { time: v.time + 65_000, answered: false, status: 486, durationMs: null, cause: 'rejected' },
    });

    const [refused] = db.query({ by: 'callId', callId: r.aCallId, limit: 10 }).records;
    expect(refused).toEqual({
      id: r.key,
      time: r.time,
      role: 'refused',
      customer: null,
      trunk: '',
      trunkRole: 'unmatched',
      source: { address: '203.0.113.66', port: 5061, transport: 'udp' },
      callId: r.aCallId,
      bCallId: null,
      nextHop: null,
      calling: { received: 'anonymous', canonical: null },
      called: { received: null, canonical: null },
      signed: null,
      verified: null,
      refused: { status: 403, cause: 'unknown_source', detail: null },
      end: null,
    });
  });

  it('an end moved by a failover replaces the B-leg and next hop; a repeated call key is ignored', () => {
    const { db } = openDb();
    const s = signedCall(1);
    db.writeBatch([s]);
    const out = db.writeBatch([
      signedCall(1, { trunk: 'other' }),
      endOf(s, { bCallId: 'b-second@stirgate', nextHop: 'udp:198.51.100.8:5060' }),
    ]);
    expect(out).toMatchObject({ inserted: 0, ended: 1 });
    const [rec] = db.query({ by: 'callId', callId: 'b-second@stirgate', limit: 5 }).records;
    expect(rec).toMatchObject({
      trunk: 'acme-pbx',
      bCallId: 'b-second@stirgate',
      nextHop: 'udp:198.51.100.8:5060',
    });
  });

  it('holds an end that comes before its call and applies it when the call arrives, across a reopen', () => {
    const t = tmpDir();
    cleanups.push(t.cleanup);
    const s = signedCall(7);
    const first = TracebackDb.open(t.file);
    expect(first.writeBatch([endOf(s)])).toEqual({ inserted: 0, ended: 0, pendingEnds: 1, droppedEnds: 0 });
    expect(first.query(byDigest(7, 1)).records).toEqual([]);
    first.close();
    const db = TracebackDb.open(t.file);
    cleanups.push(() => db.close());
    expect(db.writeBatch([s])).toEqual({ inserted: 1, ended: 1, pendingEnds: 0, droppedEnds: 0 });
    expect(db.query(byDigest(7, 1)).records[0]?.end).toMatchObject({
      answered: true,
      cause: 'bye',
    });
  });

  it('keeps at most maxPendingEnds held ends, dropping the oldest and counting them', () => {
    const { db } = openDb({ maxPendingEnds: 3 });
    const ends = [1, 2, 3, 4, 5].map((n) => endOf(signedCall(n)));
    expect(db.writeBatch(ends)).toEqual({ inserted: 0, ended: 0, pendingEnds: 3, droppedEnds: 2 });
    // The two oldest went: their calls arrive without an end; the three newest are applied.
    const out = db.writeBatch([1, 2, 3, 4, 5].map((n) => signedCall(n)));
    expect(out).toEqual({ inserted: 5, ended: 3, pendingEnds: 0, droppedEnds: 0 });
    const withEnd = db
      .query({ by: 'origid', origid: ORIGID, window: wide, limit: 10 })
      .records.filter((r) => r.end !== null)
      .map((r) => r.id);
    expect(withEnd).toEqual(['a1b2c3d4e5f6-5', 'a1b2c3d4e5f6-4', 'a1b2c3d4e5f6-3']);
  });

  it('a batch that fails is rolled back whole', () => {
    const { db } = openDb();
    const bad = { ...signedCall(2), trunk: null } as unknown as TracebackEvent;
    expect(() => db.writeBatch([signedCall(1), bad])).toThrow(TracebackStoreError);
    expect(db.query(byDigest(1, 1)).records).toEqual([]);
    expect(db.writeBatch([signedCall(1)]).inserted).toBe(1);
  });
});

describe('TracebackDb queries', () => {
  /** 30 signed calls a minute apart from two numbers to alternating destinations, 10 verified, 2 refused. */
  function populated(): TracebackDb {
    const { db } = openDb();
    const batch: TracebackEvent[] = [];
    for (let n = 0; n < 30; n++)
      batch.push(
        signedCall(n * 60, {
          calling: { received: undefined, canonical: n % 3 === 0 ? '12025550111' : '12025550100' },
          called: { received: undefined, canonical: n % 2 === 0 ? '12025550199' : '12025550198' },
        }),
      );
    for (let n = 0; n < 10; n++) batch.push(verifiedCall(n * 60 + 30));
    batch.push(refusedInvite(5), refusedInvite(6));
    db.writeBatch(batch);
    return db;
  }

  const times = (rs: readonly { time: number }[]) => rs.map((r) => r.time);
  const newestFirst = (ts: number[]) => expect(ts).toEqual([...ts].sort((a, b) => b - a));

  it('by digest', () => {
    const db = populated();
    const res = db.query(byDigest(600, 5));
    expect(res.truncated).toBe(false);
    expect(res.records.map((r) => r.id)).toEqual(['a1b2c3d4e5f6-600']);
    expect(db.query({ ...byDigest(600, 5), iat: signedCall(600).signed!.iat + 1 }).records).toEqual([]);
    expect(db.query({ by: 'digest', digest: 'nope', iat: signedCall(600).signed!.iat, limit: 5 })).toEqual({
      records: [],
      truncated: false,
    });
  });

  it('by PASSporT claims: origid and iat, narrowed by the numbers when given, signed and verified alike', () => {
    const db = populated();
    const s = signedCall(60 * 3);
    const hit = db.query({ by: 'passport', origid: ORIGID, iat: s.signed!.iat, limit: 5 });
    expect(hit.records.map((r) => r.id)).toEqual([s.key]);
    expect(
      db.query({
        by: 'passport',
        origid: ORIGID,
        iat: s.signed!.iat,
        orig: '12025550111',
        dest: '12025550198',
        limit: 5,
      }).records,
    ).toHaveLength(1);
    expect(
      db.query({ by: 'passport', origid: ORIGID, iat: s.signed!.iat, orig: '12025550100', limit: 5 }).records,
    ).toEqual([]);
    expect(
      db.query({ by: 'passport', origid: ORIGID, iat: s.signed!.iat, dest: '12025550199', limit: 5 }).records,
    ).toEqual([]);
    const v = verifiedCall(60 * 2 + 30);
    const up = db.query({ by: 'passport', origid: v.verified!.origid!, iat: v.verified!.iat!, limit: 5 });
    expect(up.records.map((r) => [r.id, r.verified?.spc])).toEqual([[v.key, '1234']]);
  });

  it('by origid and window: newest first, limited with truncated, bounded by the window', () => {
    const db = populated();
    const all = db.query({ by: 'origid', origid: ORIGID, window: wide, limit: 100 });
    expect(all.records).toHaveLength(30);
    expect(all.truncated).toBe(false);
    newestFirst(times(all.records));
    const top = db.query({ by: 'origid', origid: ORIGID, window: wide, limit: 30 });
    expect(top.truncated).toBe(false);
    const some = db.query({ by: 'origid', origid: ORIGID, window: wide, limit: 4 });
    expect(some.truncated).toBe(true);
    expect(times(some.records)).toEqual(times(all.records).slice(0, 4));
    // Calls at minutes 10..19 (inclusive bounds).
    const win = db.query({
      by: 'origid',
      origid: ORIGID,
      window: { from: T0 + 10 * 60_000, to: T0 + 19 * 60_000 },
      limit: 100,
    });
    expect(times(win.records)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + (19 - i) * 60_000));
  });

  it('by numbers and window, with and without the called number', () => {
    const db = populated();
    const orig = db.query({ by: 'numbers', orig: '12025550111', window: wide, limit: 100 });
    // n = 0, 3, ..., 27: ten calls.
    expect(orig.records).toHaveLength(10);
    newestFirst(times(orig.records));
    expect(orig.records.every((r) => r.calling.canonical === '12025550111')).toBe(true);
    const both = db.query({
      by: 'numbers',
      orig: '12025550111',
      dest: '12025550198',
      window: wide,
      limit: 100,
    });
    // Odd n among multiples of 3: 3, 9, 15, 21, 27.
    expect(times(both.records)).toEqual([27, 21, 15, 9, 3].map((n) => T0 + n * 60_000));
    const capped = db.query({
      by: 'numbers',
      orig: '12025550111',
      dest: '12025550198',
      window: wide,
      limit: 2,
    });
    expect(capped).toMatchObject({ truncated: true });
    expect(times(capped.records)).toEqual([27, 21].map((n) => T0 + n * 60_000));
    const before = db.query({
      by: 'numbers',
      orig: '12025550111',
      window: { from: T0 - DAY, to: T0 - 1 },
      limit: 5,
    });
    expect(before).toEqual({ records: [], truncated: false });
  });

  it('by Call-ID of either leg', () => {
    const db = populated();
    const s = signedCall(60 * 4);
    expect(db.query({ by: 'callId', callId: s.aCallId, limit: 5 }).records.map((r) => r.id)).toEqual([s.key]);
    expect(db.query({ by: 'callId', callId: s.bCallId!, limit: 5 }).records.map((r) => r.id)).toEqual([
      s.key,
    ]);
    // The same A-leg Call-ID twice (a caller that reuses one): both, newest first, and truncated at 1.
    db.writeBatch([signedCall(99_999, { aCallId: s.aCallId })]);
    const two = db.query({ by: 'callId', callId: s.aCallId, limit: 1 });
    expect(two).toMatchObject({ truncated: true });
    expect(two.records.map((r) => r.id)).toEqual(['a1b2c3d4e5f6-99999']);
  });

  it('refuses an inverted or too wide window and a limit out of range with a typed error', () => {
    const { db } = openDb();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(TracebackQueryError);
        return (err as TracebackQueryError).code;
      }
      return 'no error';
    };
    expect(
      code(() => db.query({ by: 'origid', origid: ORIGID, window: { from: T0, to: T0 - 1 }, limit: 5 })),
    ).toBe('window_inverted');
    expect(
      code(() =>
        db.query({
          by: 'numbers',
          orig: '1202',
          window: { from: T0, to: T0 + MAX_QUERY_WINDOW_MS + 1 },
          limit: 5,
        }),
      ),
    ).toBe('window_too_wide');
    expect(
      db.query({ by: 'numbers', orig: '1202', window: { from: T0, to: T0 + MAX_QUERY_WINDOW_MS }, limit: 5 }),
    ).toEqual({ records: [], truncated: false });
    expect(code(() => db.query({ by: 'digest', digest: 'x', iat: 0, limit: 0 }))).toBe('limit_out_of_range');
    expect(code(() => db.query({ by: 'callId', callId: 'x', limit: MAX_QUERY_LIMIT + 1 }))).toBe(
      'limit_out_of_range',
    );
  });
});

describe('TracebackDb file', () => {
  it('creates the database and its WAL with mode 0600, in WAL mode', () => {
    const { db, file } = openDb();
    db.writeBatch([signedCall(1)]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    const raw = new DatabaseSync(file, { readOnly: true });
    cleanups.push(() => raw.close());
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
  });

  it('a read-only open finds what the writer committed, running or stopped, and cannot write', () => {
    const { db, file } = openDb();
    db.writeBatch([signedCall(1)]);
    const ro = TracebackDb.open(file, { readOnly: true });
    expect(ro.query(byDigest(1, 1)).records).toHaveLength(1);
    expect(() => ro.writeBatch([signedCall(2)])).toThrow(TracebackStoreError);
    ro.close();
    db.writeBatch([signedCall(2)]);
    db.close();
    const stopped = TracebackDb.open(file, { readOnly: true });
    cleanups.push(() => stopped.close());
    expect(stopped.query({ by: 'origid', origid: ORIGID, window: wide, limit: 5 }).records).toHaveLength(2);
  });

  it('a missing file opened read-only, and a file that is not a database, are clear errors', () => {
    const t = tmpDir();
    cleanups.push(t.cleanup);
    expect(() => TracebackDb.open(t.file, { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'not_found', message: expect.stringContaining(t.file) }),
    );
    writeFileSync(t.file, 'SQLite? no: a text file where the database should be\n'.repeat(200));
    for (const readOnly of [false, true])
      expect(() => TracebackDb.open(t.file, { readOnly })).toThrow(
        expect.objectContaining({ name: 'TracebackStoreError', code: 'not_a_database' }),
      );
    // The damaged file is left as it was, for the operator to look at.
    expect(readFileSync(t.file, 'utf8').startsWith('SQLite? no')).toBe(true);
  });

  it('a database whose pages are damaged is reported as not_a_database', () => {
    const { db, file } = openDb();
    db.writeBatch(Array.from({ length: 2000 }, (_, n) => signedCall(n)));
    db.close();
    const bytes = readFileSync(file);
    // Overwrite everything past the first page (the header stays valid).
    bytes.fill(0xa5, 4096);
    writeFileSync(file, bytes);
    const damaged = (() => {
      try {
        const again = TracebackDb.open(file);
        cleanups.push(() => again.close());
        return again.query({ by: 'origid', origid: ORIGID, window: wide, limit: 1000 });
      } catch (err) {
        return err;
      }
    })();
    expect(damaged).toMatchObject({ name: 'TracebackStoreError', code: 'not_a_database' });
  });

  it('the async store wraps the same database', async () => {
    const t = tmpDir();
    cleanups.push(t.cleanup);
    const store = SqliteTracebackStore.open(t.file);
    await expect(store.write([signedCall(1)])).resolves.toMatchObject({ inserted: 1 });
    await expect(store.query(byDigest(1, 1))).resolves.toMatchObject({
      truncated: false,
    });
    await expect(store.query({ by: 'digest', digest: 'x', iat: 0, limit: 0 })).rejects.toBeInstanceOf(
      TracebackQueryError,
    );
    await expect(store.prune(T0 + 2000, 10)).resolves.toBe(1);
    await store.close();
  });
});

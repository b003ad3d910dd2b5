/**
 * Traceback store benchmark (docs/performance-history.md "Traceback store"): generates realistic records
 * (bench/traceback/generate.ts), writes them through `TracebackDb.writeBatch` in batches like the writer's
 * into a SQLite file in a tmp dir, then reports
 *
 * - the ingest rate (records/s, over all records and per million as the file grows), against a baseline
 *   measured in the same run: the same rows in a plain INSERT loop into a table without secondary indexes,
 *   over the first million records (the ratio is the cost of the query indexes and the end updates);
 * - the database size, total and per million records (after a WAL checkpoint);
 * - the cold start: a new connection (open, schema check) and its first query;
 * - p50/p99/max of 1,000 random lookups of each query kind, on a read-only connection like the CLI's;
 * - the time one retention batch holds the write lock.
 *
 * Build and run (the 10-million run took 26 minutes and 7.3 GB in the tmp dir, removed at the end):
 *
 *   npm run bench:traceback                 # 10,000,000 records
 *   npm run build && node_modules/.bin/node dist/bench/traceback/run.js --records=200000
 *
 * Options: `--records=N`, `--batch=N` (calls per transaction, default 5000: the writer's largest batch when it catches up), `--dir=PATH` (default the
 * OS tmp dir), `--keep` (leave the file), `--json`.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { MIGRATIONS } from '../../src/traceback/migrations.js';
import { callEventValues, RECORD_COLUMNS } from '../../src/traceback/sqlite-rows.js';
import { TracebackDb } from '../../src/traceback/sqlite-store.js';
import type { TracebackQuery } from '../../src/traceback/store.js';
import { generate, prng, type Sample } from './generate.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const RECORDS = Number(args.get('records') ?? 10_000_000);
const BATCH = Number(args.get('batch') ?? 5000);
const LOOKUPS = 1000;
const LIMIT = 100;
const DAYS = 30;
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 7);
const BASELINE_RECORDS = Math.min(RECORDS, 1_000_000);
const PRUNE_BATCH = 2000;
const PRUNE_BATCHES = 50;

interface Pcts {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly meanRows: number;
}

function pcts(ms: number[], rows: number[]): Pcts {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: s[s.length - 1]!,
    meanRows: rows.reduce((a, b) => a + b, 0) / rows.length,
  };
}

function fileBytes(file: string): number {
  let n = 0;
  for (const f of [file, `${file}-wal`, `${file}-shm`])
    try {
      n += statSync(f).size;
    } catch {
      // absent
    }
  return n;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** Writes every record through TracebackDb; returns the rate per million and overall. */
function ingest(
  file: string,
  samples: Sample[],
): { overall: number; perMillion: number[]; firstBaselineMs: number; events: number } {
  const db = TracebackDb.open(file);
  const sampleEvery = Math.max(1, Math.floor(RECORDS / (2 * LOOKUPS)));
  let written = 0;
  let events = 0;
  let writeMs = 0;
  let chunkMs = 0;
  let firstBaselineMs = 0;
  const perMillion: number[] = [];
  const chunk = Math.min(1_000_000, RECORDS);
  for (const batch of generate(
    { records: RECORDS, days: DAYS, start: START, seed: 7 },
    BATCH,
    sampleEvery,
    samples,
  )) {
    const t0 = performance.now();
    db.writeBatch(batch);
    const dt = performance.now() - t0;
    writeMs += dt;
    chunkMs += dt;
    events += batch.length;
    const before = written;
    for (const e of batch) if (e.kind === 'call') written++;
    if (before < BASELINE_RECORDS && written >= BASELINE_RECORDS) firstBaselineMs = writeMs;
    if (Math.floor(written / chunk) > Math.floor(before / chunk)) {
      perMillion.push((chunk * 1000) / chunkMs);
      chunkMs = 0;
      log(
        `  ${written.toLocaleString()} records, ${Math.round((written * 1000) / writeMs).toLocaleString()}/s so far, ${(fileBytes(file) / 1e9).toFixed(2)} GB`,
      );
    }
  }
  db.close();
  return { overall: (written * 1000) / writeMs, perMillion, firstBaselineMs, events };
}

/** The same first records inserted by a plain loop into a table with only its primary key. */
function baseline(dir: string): number {
  const file = join(dir, 'baseline.db');
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536');
  // Migration 1's records table without its indexes.
  db.exec(MIGRATIONS[0]!.slice(0, MIGRATIONS[0]!.indexOf(';')));
  const insert = db.prepare(
    `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})`,
  );
  let ms = 0;
  let n = 0;
  for (const batch of generate(
    { records: BASELINE_RECORDS, days: DAYS, start: START, seed: 7 },
    BATCH,
    RECORDS,
    [],
  )) {
    const calls = batch.filter((e) => e.kind === 'call');
    const t0 = performance.now();
    db.exec('BEGIN');
    for (const e of calls) insert.run(...callEventValues(e));
    db.exec('COMMIT');
    ms += performance.now() - t0;
    n += calls.length;
  }
  db.close();
  rmSync(file, { force: true });
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  return (n * 1000) / ms;
}

function lookups(db: TracebackDb, samples: readonly Sample[]): Record<string, Pcts> {
  const rand = prng(11);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const signed = samples.filter((s) => s.digest !== undefined);
  const withOrigid = samples.filter((s) => s.origid !== undefined);
  const withB = samples.filter((s) => s.bCallId !== undefined);
  const around = (s: Sample, before: number, after: number) => ({
    from: s.time - before,
    to: s.time + after,
  });
  const kinds: Record<string, () => TracebackQuery> = {
    digest: () => {
      const s = pick(signed);
      return { by: 'digest', digest: s.digest!, iat: s.iat!, limit: LIMIT };
    },
    'passport claims (origid+iat+numbers)': () => {
      const s = pick(withOrigid);
      return {
        by: 'passport',
        origid: s.origid!,
        iat: s.iat!,
        orig: s.calling,
        dest: s.called,
        limit: LIMIT,
      };
    },
    'origid + 1-hour window': () => {
      const s = pick(withOrigid);
      return { by: 'origid', origid: s.origid!, window: around(s, 30 * 60_000, 30 * 60_000), limit: LIMIT };
    },
    'numbers + 2-day window': () => {
      const s = pick(samples);
      return { by: 'numbers', orig: s.calling, window: around(s, DAY, DAY), limit: LIMIT };
    },
    'numbers + dest + 2-day window': () => {
      const s = pick(samples);
      return { by: 'numbers', orig: s.calling, dest: s.called, window: around(s, DAY, DAY), limit: LIMIT };
    },
    'numbers + dest + 31-day window': () => {
      const s = pick(samples);
      return {
        by: 'numbers',
        orig: s.calling,
        dest: s.called,
        window: { from: START, to: START + 31 * DAY },
        limit: LIMIT,
      };
    },
    'call-id (A or B leg)': () => {
      const s = pick(withB);
      return { by: 'callId', callId: rand() < 0.5 ? s.aCallId : s.bCallId!, limit: LIMIT };
    },
  };
  const out: Record<string, Pcts> = {};
  for (const [name, make] of Object.entries(kinds)) {
    const ms: number[] = [];
    const rows: number[] = [];
    let misses = 0;
    for (let i = 0; i < LOOKUPS; i++) {
      const q = make();
      const t0 = performance.now();
      const res = db.query(q);
      ms.push(performance.now() - t0);
      rows.push(res.records.length);
      if (res.records.length === 0) misses++;
    }
    // Every lookup is built from a record that exists: a miss is a bug in the store or the benchmark.
    if (misses > 0) throw new Error(`${name}: ${misses} lookups found nothing`);
    out[name] = pcts(ms, rows);
  }
  return out;
}

function main(): void {
  const dir = mkdtempSync(join(args.get('dir') ?? tmpdir(), 'stirgate-tb-bench-'));
  const file = join(dir, 'traceback.db');
  const t0 = performance.now();
  log(
    `traceback bench: ${RECORDS.toLocaleString()} records, batches of ${BATCH} calls, in ${dir}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  try {
    log(`baseline: plain INSERT loop, no secondary index, ${BASELINE_RECORDS.toLocaleString()} records`);
    const baseRate = baseline(dir);
    log(`  ${Math.round(baseRate).toLocaleString()} records/s`);
    log('ingest through TracebackDb.writeBatch');
    const samples: Sample[] = [];
    const ing = ingest(file, samples);
    const firstRate = (BASELINE_RECORDS * 1000) / ing.firstBaselineMs;

    const w = new DatabaseSync(file);
    w.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    w.close();
    const bytes = fileBytes(file);

    const c0 = performance.now();
    const cold = TracebackDb.open(file, { readOnly: true });
    const opened = performance.now() - c0;
    const first = samples[Math.floor(samples.length / 2)]!;
    cold.query({ by: 'callId', callId: first.aCallId, limit: LIMIT });
    const coldMs = performance.now() - c0;

    log('lookups');
    const q = lookups(cold, samples);
    cold.close();

    const writer = TracebackDb.open(file);
    const pruneMs: number[] = [];
    let pruned = 0;
    for (let i = 0; i < PRUNE_BATCHES; i++) {
      const p0 = performance.now();
      pruned += writer.prune(START + DAY, PRUNE_BATCH);
      pruneMs.push(performance.now() - p0);
    }
    writer.close();
    const prune = pcts(
      pruneMs,
      pruneMs.map(() => PRUNE_BATCH),
    );

    const result = {
      records: RECORDS,
      events: ing.events,
      batchCalls: BATCH,
      ingestPerSecond: Math.round(ing.overall),
      ingestPerMillion: ing.perMillion.map(Math.round),
      firstMillion: {
        indexed: Math.round(firstRate),
        baseline: Math.round(baseRate),
        ratio: firstRate / baseRate,
      },
      bytes,
      bytesPerMillion: Math.round((bytes * 1_000_000) / RECORDS),
      coldStart: { openMs: opened, openAndFirstQueryMs: coldMs },
      lookups: q,
      prune: { batchRows: PRUNE_BATCH, batches: PRUNE_BATCHES, pruned, ...prune },
      totalSeconds: (performance.now() - t0) / 1000,
      load: loadavg(),
    };
    if (args.has('json')) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    console.log(`records ${f(RECORDS)} (${f(ing.events)} events), batches of ${BATCH} calls`);
    console.log(
      `ingest: ${f(ing.overall)} records/s overall; per million: ${ing.perMillion.map(f).join(', ')}`,
    );
    console.log(
      `ingest, first ${f(BASELINE_RECORDS)}: TracebackDb ${f(firstRate)}/s, plain INSERT without secondary indexes ${f(baseRate)}/s, ratio ${(firstRate / baseRate).toFixed(2)}`,
    );
    console.log(
      `database: ${(bytes / 1e9).toFixed(2)} GB, ${(bytes / 1e6 / (RECORDS / 1e6)).toFixed(0)} MB per million records`,
    );
    console.log(`cold start: open ${opened.toFixed(1)} ms, open + first query ${coldMs.toFixed(1)} ms`);
    console.log(`lookups (${LOOKUPS} each, limit ${LIMIT}), ms:`);
    for (const [name, p] of Object.entries(q))
      console.log(
        `  ${name.padEnd(38)} p50 ${p.p50.toFixed(2).padStart(7)}  p99 ${p.p99.toFixed(2).padStart(7)}  max ${p.max.toFixed(2).padStart(7)}  rows ${p.meanRows.toFixed(1)}`,
      );
    console.log(
      `prune: ${PRUNE_BATCHES} batches of ${PRUNE_BATCH} rows (${f(pruned)} pruned), ms per batch p50 ${prune.p50.toFixed(1)} p99 ${prune.p99.toFixed(1)} max ${prune.max.toFixed(1)}`,
    );
    console.log(
      `total ${result.totalSeconds.toFixed(0)} s; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    if (args.has('keep')) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main();

import { closeSync, constants, openSync } from 'node:fs';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import type { Block, BlockAction, BlockMatchKind } from '../policy/controls.js';
import { migrate } from '../traceback/migrations.js';
import type {
  ActiveControls,
  AuditAction,
  AuditEntry,
  AuditQuery,
  BlockRemoval,
  LimitOverride,
  NewAuditEntry,
  RemoveOutcome,
  StoredBlock,
} from './control-store.js';

/**
 * The embedded control store: the `blocks`, `limit_overrides` and `audit` tables of the traceback SQLite file
 * (migration 2, src/traceback/migrations.ts), on a connection of its own. Synchronous (`node:sqlite`): it runs
 * in the store thread (src/traceback/store-thread-worker.ts), never on a SIP event loop. Each change and its
 * audit entry are one `BEGIN IMMEDIATE` transaction. The methods are `ControlStore`'s, answered in place.
 */
export class ControlDb {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(file: string, db: DatabaseSync) {
    this.file = file;
    this.#db = db;
  }

  /** Opens (creating with mode 0600 and migrating when needed) the file at `file`. */
  static open(file: string, busyTimeoutMs = 5000): ControlDb {
    createPrivate(file);
    const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
    try {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      migrate(db, file);
    } catch (err) {
      db.close();
      throw err;
    }
    return new ControlDb(file, db);
  }

  load(): ActiveControls {
    const limitOverrides: Record<string, LimitOverride> = {};
    for (const r of this.#stmt('SELECT * FROM limit_overrides ORDER BY customer').all()) {
      limitOverrides[r['customer'] as string] = overrideOf(r);
    }
    return { blocks: this.listBlocks(false), limitOverrides };
  }

  listBlocks(all: boolean): StoredBlock[] {
    const sql = all
      ? 'SELECT * FROM blocks ORDER BY seq'
      : 'SELECT * FROM blocks INDEXED BY blocks_active WHERE removed_time IS NULL ORDER BY seq';
    return this.#stmt(sql).all().map(blockOf);
  }

  addBlock(block: Omit<Block, 'id'>, reason: string): StoredBlock {
    return this.#transaction(() => {
      const seq = this.#nextSeq();
      const stored: StoredBlock = { id: `b-${seq}`, ...block, removed: null };
      this.#stmt(
        `INSERT INTO blocks (seq, id, match_kind, match_value, action, reason, ticket, expires, actor, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        seq,
        stored.id,
        block.match.kind,
        block.match.value,
        block.action,
        block.reason,
        block.ticket,
        block.expires,
        block.actor,
        block.created,
      );
      this.#audit({
        time: block.created,
        actor: block.actor,
        action: 'block.add',
        object: `block:${stored.id}`,
        before: null,
        after: stored,
        reason,
      });
      return stored;
    });
  }

  removeBlock(id: string, removal: BlockRemoval): RemoveOutcome {
    return this.#transaction(() => {
      const row = this.#stmt('SELECT * FROM blocks WHERE id = ?').get(id);
      if (row === undefined) return { ok: false, why: 'not_found' };
      const before = blockOf(row);
      if (before.removed !== null) return { ok: false, why: 'already_removed', block: before };
      const after = this.#markRemoved(before, removal);
      this.#audit({
        time: removal.time,
        actor: removal.actor,
        action: 'block.remove',
        object: `block:${id}`,
        before,
        after,
        reason: removal.reason,
      });
      return { ok: true, block: after };
    });
  }

  expireBlocks(now: number): StoredBlock[] {
    return this.#transaction(() => {
      const due = this.#stmt(
        'SELECT * FROM blocks INDEXED BY blocks_active WHERE removed_time IS NULL AND expires <= ? ORDER BY seq',
      )
        .all(now)
        .map(blockOf);
      return due.map((before) => {
        const after = this.#markRemoved(before, { time: now, actor: 'system', reason: 'expired' });
        this.#audit({
          time: now,
          actor: 'system',
          action: 'block.expire',
          object: `block:${before.id}`,
          before,
          after,
          reason: 'expired',
        });
        return after;
      });
    });
  }

  setLimits(
    customer: string,
    override: LimitOverride | null,
    change: { readonly time: number; readonly actor: string; readonly reason: string | null },
  ): void {
    this.#transaction(() => {
      const row = this.#stmt('SELECT * FROM limit_overrides WHERE customer = ?').get(customer);
      const before = row === undefined ? null : overrideOf(row);
      if (override === null) {
        this.#stmt('DELETE FROM limit_overrides WHERE customer = ?').run(customer);
      } else {
        this.#stmt(
          `INSERT INTO limit_overrides (customer, cps, burst, max_concurrent, updated, actor) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (customer) DO UPDATE SET cps = excluded.cps, burst = excluded.burst,
             max_concurrent = excluded.max_concurrent, updated = excluded.updated, actor = excluded.actor`,
        ).run(
          customer,
          override.cps ?? null,
          override.burst ?? null,
          override.maxConcurrent ?? null,
          change.time,
          change.actor,
        );
      }
      this.#audit({
        time: change.time,
        actor: change.actor,
        action: 'limits.set',
        object: `customer:${customer}`,
        before,
        after: override,
        reason: change.reason,
      });
    });
  }

  appendAudit(entry: NewAuditEntry): AuditEntry {
    return this.#transaction(() => this.#audit(entry));
  }

  audit(q: AuditQuery): AuditEntry[] {
    return this.#stmt('SELECT * FROM audit WHERE time >= ? ORDER BY id LIMIT ?')
      .all(q.since, q.limit)
      .map(auditOf);
  }

  close(): void {
    this.#db.close();
  }

  #markRemoved(block: StoredBlock, removal: BlockRemoval): StoredBlock {
    this.#stmt('UPDATE blocks SET removed_time = ?, removed_actor = ?, removed_reason = ? WHERE id = ?').run(
      removal.time,
      removal.actor,
      removal.reason,
      block.id,
    );
    return { ...block, removed: removal };
  }

  #nextSeq(): number {
    const row = this.#stmt('SELECT coalesce(max(seq), 0) + 1 AS n FROM blocks').get() as { n: number };
    return row.n;
  }

  #audit(e: NewAuditEntry): AuditEntry {
    const r = this.#stmt(
      'INSERT INTO audit (time, actor, action, object, before, after, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(
      e.time,
      e.actor,
      e.action,
      e.object,
      JSON.stringify(e.before ?? null),
      JSON.stringify(e.after ?? null),
      e.reason,
    );
    return { id: Number(r.lastInsertRowid), ...e };
  }

  #transaction<T>(body: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const v = body();
      this.#db.exec('COMMIT');
      return v;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }
}

type Row = Record<string, SQLOutputValue>;

function blockOf(r: Row): StoredBlock {
  const removedTime = r['removed_time'] as number | null;
  return {
    id: r['id'] as string,
    match: { kind: r['match_kind'] as BlockMatchKind, value: r['match_value'] as string },
    action: r['action'] as BlockAction,
    reason: r['reason'] as string,
    ticket: r['ticket'] as string,
    expires: r['expires'] as number | null,
    actor: r['actor'] as string,
    created: r['created'] as number,
    removed:
      removedTime === null
        ? null
        : {
            time: removedTime,
            actor: r['removed_actor'] as string,
            reason: r['removed_reason'] as string | null,
          },
  };
}

function overrideOf(r: Row): LimitOverride {
  const o: { cps?: number; burst?: number; maxConcurrent?: number } = {};
  if (r['cps'] !== null) o.cps = r['cps'] as number;
  if (r['burst'] !== null) o.burst = r['burst'] as number;
  if (r['max_concurrent'] !== null) o.maxConcurrent = r['max_concurrent'] as number;
  return o;
}

function auditOf(r: Row): AuditEntry {
  return {
    id: r['id'] as number,
    time: r['time'] as number,
    actor: r['actor'] as string,
    action: r['action'] as AuditAction,
    object: r['object'] as string,
    before: JSON.parse(r['before'] as string) as unknown,
    after: JSON.parse(r['after'] as string) as unknown,
    reason: r['reason'] as string | null,
  };
}

/** The file with mode 0600 when it does not exist yet (its tables hold telephone numbers). */
function createPrivate(file: string): void {
  try {
    closeSync(openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

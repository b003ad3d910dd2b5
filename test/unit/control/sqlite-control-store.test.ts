/** The control tables on a real SQLite file: blocks, removal, expiry, overrides, the append-only audit log. */
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlDb } from '../../../src/control/sqlite-control-store.js';
import type { Block } from '../../../src/policy/controls.js';
import { TracebackStoreThread } from '../../../src/traceback/store-thread.js';
import { tmpDir } from '../traceback/traceback-fixtures.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fresh(): string {
  const t = tmpDir();
  cleanups.push(t.cleanup);
  return t.file;
}

function open(file = fresh()): ControlDb {
  const db = ControlDb.open(file);
  cleanups.push(() => db.close());
  return db;
}

const T0 = Date.parse('2026-12-07T10:00:00Z');

function newBlock(over: Partial<Omit<Block, 'id'>> = {}): Omit<Block, 'id'> {
  return {
    match: { kind: 'calling', value: '12025550123' },
    action: 'reject',
    reason: 'robocall campaign',
    ticket: 'NOC-1',
    expires: null,
    actor: 'alice',
    created: T0,
    ...over,
  };
}

describe('ControlDb', () => {
  it('adds blocks with increasing ids, each with its block.add audit entry, and loads the active ones', () => {
    const db = open();
    const a = db.addBlock(newBlock(), 'robocall campaign');
    const b = db.addBlock(newBlock({ match: { kind: 'customer', value: 'acme' }, action: 'mark' }), 'x');
    expect([a.id, b.id]).toEqual(['b-1', 'b-2']);
    expect(db.load().blocks).toEqual([a, b]);
    const audit = db.audit({ since: 0, limit: 10 });
    expect(audit.map((e) => [e.action, e.object, e.actor])).toEqual([
      ['block.add', 'block:b-1', 'alice'],
      ['block.add', 'block:b-2', 'alice'],
    ]);
    expect(audit[0]!.before).toBeNull();
    expect(audit[0]!.after).toEqual(a);
  });

  it('removes a block once: unknown and already removed ones are refused without an audit entry', () => {
    const db = open();
    const a = db.addBlock(newBlock(), 'r');
    const removal = { time: T0 + 1000, actor: 'bob', reason: 'false positive: a hospital' };
    const r = db.removeBlock(a.id, removal);
    expect(r).toEqual({ ok: true, block: { ...a, removed: removal } });
    expect(db.removeBlock(a.id, removal)).toMatchObject({ ok: false, why: 'already_removed' });
    expect(db.removeBlock('b-99', removal)).toEqual({ ok: false, why: 'not_found' });
    expect(db.load().blocks).toEqual([]);
    expect(db.listBlocks(true)).toEqual([{ ...a, removed: removal }]);
    expect(db.audit({ since: 0, limit: 10 }).map((e) => e.action)).toEqual(['block.add', 'block.remove']);
  });

  it('expires the blocks due, as system, and only those', () => {
    const db = open();
    const soon = db.addBlock(newBlock({ expires: T0 + 5000 }), 'r');
    const later = db.addBlock(newBlock({ expires: T0 + 60_000 }), 'r');
    const never = db.addBlock(newBlock(), 'r');
    expect(db.expireBlocks(T0 + 4999)).toEqual([]);
    const gone = db.expireBlocks(T0 + 5000);
    expect(gone).toEqual([{ ...soon, removed: { time: T0 + 5000, actor: 'system', reason: 'expired' } }]);
    expect(db.load().blocks.map((b) => b.id)).toEqual([later.id, never.id]);
    const last = db.audit({ since: 0, limit: 10 }).at(-1)!;
    expect([last.action, last.actor, last.object]).toEqual(['block.expire', 'system', `block:${soon.id}`]);
  });

  it('keeps one override per customer, replaced or cleared, each change audited with before and after', () => {
    const db = open();
    const change = { time: T0, actor: 'alice', reason: 'new customer' };
    db.setLimits('acme', { cps: 5, burst: 10 }, change);
    db.setLimits('acme', { cps: 8, maxConcurrent: 20 }, change);
    expect(db.load().limitOverrides).toEqual({ acme: { cps: 8, maxConcurrent: 20 } });
    db.setLimits('acme', null, change);
    expect(db.load().limitOverrides).toEqual({});
    const audit = db.audit({ since: 0, limit: 10 });
    expect(audit.map((e) => [e.action, e.object, e.before, e.after])).toEqual([
      ['limits.set', 'customer:acme', null, { cps: 5, burst: 10 }],
      ['limits.set', 'customer:acme', { cps: 5, burst: 10 }, { cps: 8, maxConcurrent: 20 }],
      ['limits.set', 'customer:acme', { cps: 8, maxConcurrent: 20 }, null],
    ]);
  });

  it('the audit log is append-only: an UPDATE or a DELETE fails, even on a connection of its own', () => {
    const file = fresh();
    const db = open(file);
    db.addBlock(newBlock(), 'r');
    const rawDb = new DatabaseSync(file);
    cleanups.push(() => rawDb.close());
    expect(() => rawDb.exec("UPDATE audit SET actor = 'mallory'")).toThrow(/append-only/);
    expect(() => rawDb.exec('DELETE FROM audit')).toThrow(/append-only/);
    expect(db.audit({ since: 0, limit: 10 }).map((e) => e.actor)).toEqual(['alice']);
  });

  it('audit queries start at `since` and stop at `limit`, oldest first', () => {
    const db = open();
    for (let i = 0; i < 5; i++) db.addBlock(newBlock({ created: T0 + i * 1000 }), 'r');
    expect(db.audit({ since: T0 + 2000, limit: 2 }).map((e) => e.object)).toEqual(['block:b-3', 'block:b-4']);
  });

  it('survives a reopen: blocks, overrides and the log are on file', () => {
    const file = fresh();
    const first = ControlDb.open(file);
    const a = first.addBlock(newBlock(), 'r');
    first.setLimits('acme', { cps: 3 }, { time: T0, actor: 'alice', reason: null });
    first.close();
    const again = open(file);
    expect(again.load()).toEqual({ blocks: [a], limitOverrides: { acme: { cps: 3 } } });
    expect(again.audit({ since: 0, limit: 10 })).toHaveLength(2);
    expect(again.addBlock(newBlock(), 'r').id).toBe('b-2');
  });
});

describe('the control store in the store thread', () => {
  it('answers the ControlStore methods without the traceback records open', async () => {
    const file = fresh();
    const thread = await TracebackStoreThread.open({
      file,
      retentionDays: 0,
      records: false,
      controls: true,
    });
    cleanups.push(() => thread.close());
    const store = thread.controls();
    const a = await store.addBlock(newBlock(), 'r');
    expect(await store.load()).toEqual({ blocks: [a], limitOverrides: {} });
    expect(await store.removeBlock('b-7', { time: T0, actor: 'x', reason: null })).toEqual({
      ok: false,
      why: 'not_found',
    });
    await expect(thread.query({ by: 'callId', callId: 'x', limit: 1 })).rejects.toThrow(/not open/);
  });
});

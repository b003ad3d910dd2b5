/** The control plane over a real SQLite file: each change validated, stored with its audit entry, published. */
import { afterEach, describe, expect, it } from 'vitest';
import { ControlError, type ControlErrorCode } from '../../../src/control/control-error.js';
import { ControlPlane } from '../../../src/control/control-plane.js';
import { createLogger } from '../../../src/log/logger.js';
import { tmpDir } from '../traceback/traceback-fixtures.js';
import { controlConfig, inProcessStore } from './control-fixtures.js';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function plane(file?: string, clock = { now: T0 }) {
  const f =
    file ??
    (() => {
      const t = tmpDir();
      cleanups.push(t.cleanup);
      return t.file;
    })();
  const store = inProcessStore(f);
  const config = controlConfig();
  const p = await ControlPlane.start({
    store,
    config: () => config,
    logger: createLogger({ level: 'silent' }),
    now: () => clock.now,
    sweepMs: 60_000,
  });
  cleanups.push(async () => {
    p.close();
    await store.close();
  });
  return { p, store, file: f, clock };
}

const good = {
  match: { calling: '+1 202-555-0123' },
  action: 'reject',
  reason: 'robocalls',
  ticket: 'NOC-7',
};

describe('ControlPlane changes', () => {
  it('adds a block: canonical number, the actor, audited, then published as the next version', async () => {
    const { p, store } = await plane();
    const seen: number[] = [];
    p.controls.subscribe((c) => seen.push(c.version));
    const v0 = p.controls.current.version;
    const b = await p.addBlock(good, 'alice');
    expect(b).toMatchObject({ id: 'b-1', match: { kind: 'calling', value: '12025550123' }, actor: 'alice' });
    expect(b.created).toBe(T0);
    expect(seen).toEqual([v0 + 1]);
    const { removed: _, ...published } = b;
    expect(p.controls.current.blocks).toEqual([published]);
    expect(store.db.audit({ since: 0, limit: 5 }).map((e) => e.action)).toEqual(['block.add']);
  });

  it('removes a block: gone from the published value; again is a conflict; unknown is not found', async () => {
    const { p } = await plane();
    const b = await p.addBlock(good, 'alice');
    const removed = await p.removeBlock(b.id, { reason: 'a hospital' }, 'bob');
    expect(removed.removed).toEqual({ time: T0, actor: 'bob', reason: 'a hospital' });
    expect(p.controls.current.blocks).toEqual([]);
    await expect(p.removeBlock(b.id, undefined, 'bob')).rejects.toMatchObject({
      code: 'block_already_removed',
    });
    await expect(p.removeBlock('b-404', undefined, 'bob')).rejects.toMatchObject({ code: 'block_not_found' });
  });

  it('sets limits: merged into the override, a null clears a field, clearing all removes it', async () => {
    const { p } = await plane();
    expect(await p.setLimits('acme', { cps: 5, burst: 10 }, 'alice')).toEqual({ cps: 5, burst: 10 });
    expect(await p.setLimits('acme', { max_concurrent: 30, burst: null }, 'alice')).toEqual({
      cps: 5,
      maxConcurrent: 30,
    });
    expect(p.controls.current.limitOverrides).toEqual({ acme: { cps: 5, maxConcurrent: 30 } });
    expect(await p.setLimits('acme', { cps: null, max_concurrent: null }, 'alice')).toBeNull();
    expect(p.controls.current.limitOverrides).toEqual({});
  });

  it('loads what a previous run left: active blocks and overrides, versions going on from there', async () => {
    const first = await plane();
    await first.p.addBlock(good, 'alice');
    const gone = await first.p.addBlock({ ...good, match: { called: '+44*' } }, 'alice');
    await first.p.removeBlock(gone.id, undefined, 'alice');
    await first.p.setLimits('acme', { cps: 2 }, 'alice');
    const second = await plane(first.file);
    expect(second.p.controls.current.blocks.map((b) => b.id)).toEqual(['b-1']);
    expect(second.p.controls.current.limitOverrides).toEqual({ acme: { cps: 2 } });
  });

  it('sweeps expired blocks as system; a block not yet due stays', async () => {
    const { p, store, clock } = await plane();
    const soon = await p.addBlock({ ...good, expires: new Date(T0 + 5_000).toISOString() }, 'alice');
    const later = await p.addBlock({ ...good, expires: new Date(T0 + 50_000).toISOString() }, 'alice');
    clock.now = T0 + 5_000;
    await p.sweep();
    expect(p.controls.current.blocks.map((b) => b.id)).toEqual([later.id]);
    const last = store.db.audit({ since: 0, limit: 10 }).at(-1)!;
    expect([last.action, last.actor, last.object]).toEqual(['block.expire', 'system', `block:${soon.id}`]);
  });

  it('records an applied reload', async () => {
    const { p, store } = await plane();
    await p.recordReload('alice', ['routes'], ['listen']);
    expect(store.db.audit({ since: 0, limit: 5 })).toMatchObject([
      { action: 'config.reload', object: 'config', actor: 'alice', after: { changed: ['routes'] } },
    ]);
  });
});

/** ADMIN-API.md "Bad input": each refused with its code and field, and nothing changed or audited. */
const BAD_BLOCKS: readonly [string, unknown, ControlErrorCode, string | undefined][] = [
  ['not an object', [good], 'invalid_body', undefined],
  ['an unknown field', { ...good, note: 'x' }, 'unknown_field', 'note'],
  ['an unknown match kind', { ...good, match: { ip: '10.0.0.1' } }, 'unknown_field', 'match.ip'],
  ['no match', { ...good, match: undefined }, 'missing_field', 'match'],
  [
    'two match kinds',
    { ...good, match: { calling: '+12025550123', called: '+1' } },
    'invalid_match',
    'match',
  ],
  ['an empty match', { ...good, match: {} }, 'invalid_match', 'match'],
  ['letters for a number', { ...good, match: { calling: 'alice' } }, 'invalid_number', 'match.calling'],
  ['a bare *', { ...good, match: { called: '*' } }, 'invalid_number', 'match.called'],
  ['16 digits', { ...good, match: { called: '+1202555012345678' } }, 'invalid_number', 'match.called'],
  ['an unknown customer', { ...good, match: { customer: 'nobody' } }, 'unknown_customer', 'match.customer'],
  ['an unknown trunk', { ...good, match: { trunk: 'nowhere' } }, 'unknown_trunk', 'match.trunk'],
  ['an origid that is no UUID', { ...good, match: { origid: 'abc' } }, 'invalid_field', 'match.origid'],
  ['an empty spc', { ...good, match: { spc: '' } }, 'invalid_field', 'match.spc'],
  ['a spc with spaces', { ...good, match: { spc: 'a b' } }, 'invalid_field', 'match.spc'],
  ['another action', { ...good, action: 'drop' }, 'invalid_field', 'action'],
  ['no action', { ...good, action: undefined }, 'missing_field', 'action'],
  ['no reason', { ...good, reason: undefined }, 'missing_field', 'reason'],
  ['a blank reason', { ...good, reason: '  ' }, 'invalid_field', 'reason'],
  ['a reason too long', { ...good, reason: 'x'.repeat(501) }, 'invalid_field', 'reason'],
  ['no ticket', { ...good, ticket: undefined }, 'missing_field', 'ticket'],
  ['a ticket of another type', { ...good, ticket: 7 }, 'invalid_field', 'ticket'],
  ['an expiry without a zone', { ...good, expires: '2027-01-01T00:00:00' }, 'invalid_field', 'expires'],
  ['an expiry that is no time', { ...good, expires: 'tomorrow' }, 'invalid_field', 'expires'],
  ['an expiry in the past', { ...good, expires: '2026-12-07T09:59:59Z' }, 'expires_in_past', 'expires'],
];

const BAD_LIMITS: readonly [string, unknown, ControlErrorCode, string | undefined][] = [
  ['nothing to set', {}, 'missing_field', undefined],
  ['an unknown field', { cps: 5, rate: 3 }, 'unknown_field', 'rate'],
  ['a fraction', { cps: 1.5 }, 'invalid_field', 'cps'],
  ['a string', { burst: '10' }, 'invalid_field', 'burst'],
  ['zero', { cps: 0 }, 'invalid_limit', 'cps'],
  ['negative', { max_concurrent: -1 }, 'invalid_limit', 'max_concurrent'],
  ['past the cap', { burst: 100_001 }, 'invalid_limit', 'burst'],
];

describe('ControlPlane refuses bad input and changes nothing', () => {
  it.each(BAD_BLOCKS)('a block with %s', async (_, body, code, path) => {
    const { p, store } = await plane();
    const v = p.controls.current.version;
    const err = await p.addBlock(body, 'alice').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect(err).toMatchObject({ code, path });
    expect(p.controls.current.version).toBe(v);
    expect(store.db.audit({ since: 0, limit: 5 })).toEqual([]);
    expect(store.db.listBlocks(true)).toEqual([]);
  });

  it.each(BAD_LIMITS)('limits with %s', async (_, body, code, path) => {
    const { p, store } = await plane();
    const err = await p.setLimits('acme', body, 'alice').catch((e: unknown) => e);
    expect(err).toMatchObject({ code, path });
    expect(store.db.audit({ since: 0, limit: 5 })).toEqual([]);
    expect(p.controls.current.limitOverrides).toEqual({});
  });

  it('limits of an unknown customer, and a removal with an unknown field', async () => {
    const { p, store } = await plane();
    await expect(p.setLimits('nobody', { cps: 1 }, 'alice')).rejects.toMatchObject({
      code: 'customer_not_found',
    });
    const b = await p.addBlock(good, 'alice');
    await expect(p.removeBlock(b.id, { why: 'x' }, 'alice')).rejects.toMatchObject({
      code: 'unknown_field',
      path: 'why',
    });
    expect(store.db.audit({ since: 0, limit: 5 })).toHaveLength(1);
    expect(p.controls.current.blocks).toHaveLength(1);
  });

  it('accepts each match kind, canonical', async () => {
    const { p } = await plane();
    const cases = [
      [{ calling: '+1202*' }, 'calling', '1202*'],
      [{ called: '+44 20 7946 0000' }, 'called', '442079460000'],
      [{ customer: 'acme' }, 'customer', 'acme'],
      [{ trunk: 'pbx' }, 'trunk', 'pbx'],
      [{ origid: '0B6C1F3E-2B7A-4C1E-9A7E-3F0D2C1B4A5E' }, 'origid', '0b6c1f3e-2b7a-4c1e-9a7e-3f0d2c1b4a5e'],
      [{ spc: '1234' }, 'spc', '1234'],
    ] as const;
    for (const [match, kind, value] of cases) {
      const b = await p.addBlock({ ...good, match }, 'alice');
      expect(b.match).toEqual({ kind, value });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { compileBlockIndex, findBlock } from '../../../src/policy/block-index.js';
import type { Block, BlockAction, BlockMatchKind } from '../../../src/policy/controls.js';

let n = 0;
function block(
  kind: BlockMatchKind,
  value: string,
  action: BlockAction = 'reject',
  extra: Partial<Block> = {},
): Block {
  n++;
  return {
    id: `b-${n}`,
    match: { kind, value },
    action,
    reason: 'test',
    ticket: 'T-1',
    expires: null,
    actor: 'noc',
    created: n,
    ...extra,
  };
}

describe('compileBlockIndex', () => {
  it('numbers: exact and prefix, the exact one first', () => {
    const exact = block('calling', '12025550100');
    const prefix = block('calling', '1202555*');
    const shorter = block('calling', '1*');
    const idx = compileBlockIndex({ version: 3, blocks: [shorter, prefix, exact], limitOverrides: {} });
    expect(idx.version).toBe(3);
    expect(idx.find('calling', '12025550100', 'reject', 0)).toBe(exact);
    expect(idx.find('calling', '12025550199', 'reject', 0)).toBe(shorter);
    expect(idx.find('calling', '4420', 'reject', 0)).toBeUndefined();
    expect(idx.find('called', '12025550100', 'reject', 0)).toBeUndefined();
  });

  it('names and ids by exact value only; * is literal for them', () => {
    const c = block('customer', 'acme');
    const s = block('spc', '1234');
    const idx = compileBlockIndex({ version: 1, blocks: [c, s], limitOverrides: {} });
    expect(idx.find('customer', 'acme', 'reject', 0)).toBe(c);
    expect(idx.find('customer', 'acme2', 'reject', 0)).toBeUndefined();
    expect(idx.find('spc', '1234', 'reject', 0)).toBe(s);
    expect(idx.find('spc', undefined, 'reject', 0)).toBeUndefined();
  });

  it('keeps actions apart', () => {
    const m = block('trunk', 't1', 'mark');
    const idx = compileBlockIndex({ version: 1, blocks: [m], limitOverrides: {} });
    expect(idx.find('trunk', 't1', 'reject', 0)).toBeUndefined();
    expect(idx.find('trunk', 't1', 'mark', 0)).toBe(m);
  });

  it('an expired block matches nothing; the next one on the same key does', () => {
    const old = block('called', '1900*', 'reject', { expires: 1_000 });
    const later = block('called', '1900*', 'reject', { expires: 5_000 });
    const idx = compileBlockIndex({ version: 1, blocks: [later, old], limitOverrides: {} });
    expect(idx.find('called', '19005550100', 'reject', 999)).toBe(old);
    expect(idx.find('called', '19005550100', 'reject', 1_000)).toBe(later);
    expect(idx.find('called', '19005550100', 'reject', 5_000)).toBeUndefined();
  });
});

describe('findBlock', () => {
  it('tries the keys given, narrowest first, skipping absent ones', () => {
    const byTrunk = block('trunk', 't1');
    const byCalled = block('called', '1900*');
    const idx = compileBlockIndex({ version: 1, blocks: [byTrunk, byCalled], limitOverrides: {} });
    expect(findBlock(idx, { calling: '1202', called: '19005550100', trunk: 't1' }, 'reject', 0)).toBe(
      byCalled,
    );
    expect(findBlock(idx, { calling: '1202', called: '1202', trunk: 't1' }, 'reject', 0)).toBe(byTrunk);
    expect(findBlock(idx, { called: '19005550100' }, 'mark', 0)).toBeUndefined();
    expect(findBlock(idx, { called: undefined, trunk: 't2' }, 'reject', 0)).toBeUndefined();
  });
});

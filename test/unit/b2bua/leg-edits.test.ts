import { describe, expect, it } from 'vitest';
import { applyLegEdits, type LegEdit } from '../../../src/b2bua/leg-edits.js';
import { invite } from './support.js';

describe('applyLegEdits', () => {
  it('applies the edits in order: remove, append, set, verstat', () => {
    const edits: LegEdit[] = [
      { op: 'remove', name: 'identity' },
      { op: 'append', name: 'identity', value: 'ours' },
      { op: 'set', name: 'X-Attestation', value: 'A' },
      { op: 'verstat', verstat: 'TN-Validation-Passed' },
    ];
    const r = invite(['From: <sip:+12025550100@x;user=phone>;tag=1', 'Identity: theirs', 'X-Attestation: C']);
    applyLegEdits(r, edits);
    expect(r.getAll('identity')).toEqual(['ours']);
    expect(r.getAll('x-attestation')).toEqual(['A']);
    expect(r.get('from')).toBe('<sip:+12025550100;verstat=TN-Validation-Passed@x;user=phone>;tag=1');
  });

  it('gives the same request when applied to two fresh requests (what failover relies on)', () => {
    const edits: LegEdit[] = [
      { op: 'verstat', verstat: 'TN-Validation-Failed' },
      { op: 'append', name: 'reason', value: 'STIR;cause=438' },
    ];
    const lines = ['From: <sip:+12025550100@x;user=phone>;tag=1'];
    const first = invite(lines);
    const second = invite(lines);
    applyLegEdits(first, edits);
    applyLegEdits(second, edits);
    expect(second.headers).toEqual(first.headers);
    expect(first.getAll('reason')).toEqual(['STIR;cause=438']);
  });
});

import { describe, expect, it } from 'vitest';
import { markVerstat, removeVerstat } from '../../../src/b2bua/verstat.js';
import { invite } from './support.js';

describe('markVerstat (3GPP TS 24.229 §7.2A.20)', () => {
  it('marks the number-carrying URIs of From and PAI in place, replacing a verstat from the peer', () => {
    const r = invite([
      'From: "A" <sip:+12025550100;verstat=TN-Validation-Passed@x;user=phone>;tag=1',
      'X-Between: 1',
      'P-Asserted-Identity: <sip:+12025550100@x;user=phone>, <tel:+12025550100>',
    ]);
    markVerstat(r, 'TN-Validation-Failed');
    expect(r.get('from')).toBe('"A" <sip:+12025550100;verstat=TN-Validation-Failed@x;user=phone>;tag=1');
    expect(r.getAll('p-asserted-identity')).toEqual([
      '<sip:+12025550100;verstat=TN-Validation-Failed@x;user=phone>',
      '<tel:+12025550100;verstat=TN-Validation-Failed>',
    ]);
    expect(r.headers.map((h) => h.name).slice(4, 7)).toEqual(['from', 'x-between', 'p-asserted-identity']);
  });

  it('writes exactly one verstat when the peer put one among the URI parameters too', () => {
    const r = invite([
      'From: <sip:+12025550100;verstat=TN-Validation-Failed@x;user=phone;verstat=TN-Validation-Passed>;tag=1',
    ]);
    markVerstat(r, 'No-TN-Validation');
    expect(r.get('from')).toBe('<sip:+12025550100;verstat=No-TN-Validation@x;user=phone>;tag=1');
  });

  it('leaves a From that carries no telephone number without a verstat, removing a forged one', () => {
    expect(invite(['From: <sip:anonymous@anonymous.invalid>;tag=1']).get('from')).toBe(
      '<sip:anonymous@anonymous.invalid>;tag=1',
    );
    const r = invite(['From: <sip:anonymous;verstat=TN-Validation-Passed@anonymous.invalid>;tag=1']);
    markVerstat(r, 'TN-Validation-Passed');
    expect(r.get('from')).toBe('<sip:anonymous@anonymous.invalid>;tag=1');
  });
});

describe('removeVerstat', () => {
  it('removes verstat from the user part, the URI parameters, a tel URI and the header parameters', () => {
    const r = invite([
      'From: <sip:+12025550100;VERSTAT=TN-Validation-Passed@x;user=phone;verstat=TN-Validation-Passed>;tag=1;verstat=TN-Validation-Passed',
      'P-Asserted-Identity: <tel:+12025550100;verstat=TN-Validation-Passed>, <sip:+12025550100;npdi;verstat=TN-Validation-Passed@x>',
    ]);
    removeVerstat(r);
    expect(r.get('from')).toBe('<sip:+12025550100@x;user=phone>;tag=1');
    expect(r.getAll('p-asserted-identity')).toEqual(['<tel:+12025550100>', '<sip:+12025550100;npdi@x>']);
  });

  it('leaves headers without a verstat byte for byte as they came', () => {
    const from = '"Alice"  <sip:+1-202-555-0100@x;user=phone>;tag=1';
    const r = invite([`From: ${from}`, 'P-Asserted-Identity:   <tel:+12025550100>']);
    removeVerstat(r);
    expect(r.get('from')).toBe(from);
    expect(r.get('p-asserted-identity')).toBe('<tel:+12025550100>');
  });
});

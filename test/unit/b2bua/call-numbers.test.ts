import { describe, expect, it } from 'vitest';
import { calledNumbers, callingNumber } from '../../../src/b2bua/call-numbers.js';
import { invite } from './support.js';

describe('numbers from SIP (RFC 8224 §8.3)', () => {
  it('calling number: P-Asserted-Identity first, else From; called: Request-URI, then To', () => {
    const r = invite([
      'From: <sip:anonymous@x>;tag=1',
      'P-Asserted-Identity: <sip:alice@x>, <tel:+12025550100>',
    ]);
    expect(callingNumber(r)).toBe('+12025550100'); // RFC 3325: the PAI value that carries a number
    expect(
      callingNumber(invite(['From: <sip:+12025550101@x>;tag=1', 'P-Asserted-Identity: <sip:alice@x>'])),
    ).toBe('alice');
    expect(callingNumber(invite(['From: <sip:+12025550100@x;user=phone>;tag=1']))).toBe('+12025550100');
    expect(calledNumbers(r)).toEqual(['+1-202-555-0199', '2025550198']);
  });
});

import { describe, expect, it } from 'vitest';
import { compileEmergencyNumbers, isEmergencyNumber } from '../../../src/policy/emergency.js';
import { canonicalizeTn } from '../../../src/stir/tn.js';

const numbers = compileEmergencyNumbers(['911', '112', '999', '933']);
const called = (raw: string, cc: string) =>
  isEmergencyNumber(canonicalizeTn(raw, { countryCode: cc }), numbers, cc);

describe('isEmergencyNumber', () => {
  it('matches a short code as dialled, and after the country code', () => {
    expect(called('911', '1')).toBe(true);
    expect(called('+1911', '1')).toBe(true);
    expect(called('933', '1')).toBe(true);
    expect(called('112', '44')).toBe(true);
    expect(called('+44999', '44')).toBe(true);
  });

  it('does not match other numbers, nor a code behind another country code, nor a longer number', () => {
    expect(called('+12025550911', '1')).toBe(false);
    expect(called('9111', '1')).toBe(false);
    expect(called('+44911', '1')).toBe(false);
    expect(called('411', '1')).toBe(false);
    expect(isEmergencyNumber(undefined, numbers, '1')).toBe(false);
  });

  it('without a country code only the dialled form counts', () => {
    expect(isEmergencyNumber('911', numbers, '')).toBe(true);
    expect(isEmergencyNumber('1911', numbers, '')).toBe(false);
  });
});

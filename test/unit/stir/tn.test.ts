import { describe, expect, it } from 'vitest';
import { canonicalizeTn, TN_CANONICALIZATION_TABLE } from '../../../src/stir/tn.js';

describe('canonicalizeTn (RFC 8224 §8.3, ATIS-1000074 §5.3.1)', () => {
  it.each(TN_CANONICALIZATION_TABLE.map((r) => [r.why, r.input, r.countryCode, r.expected] as const))(
    '%s: %j (cc %s) -> %j',
    (_why, input, countryCode, expected) => {
      expect(canonicalizeTn(input, countryCode === undefined ? undefined : { countryCode })).toBe(expected);
    },
  );

  it('table covers accepted and rejected inputs', () => {
    expect(TN_CANONICALIZATION_TABLE.filter((r) => r.expected === undefined).length).toBeGreaterThan(5);
    expect(TN_CANONICALIZATION_TABLE.filter((r) => r.expected !== undefined).length).toBeGreaterThan(10);
  });

  // Independent of the table: rows written out here.
  it('never keeps + or separators', () => {
    expect(canonicalizeTn('+44 (20) 7946-0958')).toBe('442079460958');
    expect(canonicalizeTn('+1.202.555.0100')).toBe('12025550100');
  });

  it('is idempotent', () => {
    for (const r of TN_CANONICALIZATION_TABLE) {
      if (r.expected === undefined) continue;
      const opts = r.countryCode === undefined ? undefined : { countryCode: r.countryCode };
      expect(canonicalizeTn(r.expected, opts)).toBe(r.expected);
    }
  });

  it('accepts every length 1..15 and rejects 16', () => {
    for (let n = 1; n <= 15; n++) expect(canonicalizeTn('+' + '9'.repeat(n))).toBe('9'.repeat(n));
    expect(canonicalizeTn('9'.repeat(16))).toBeUndefined();
    // NANP prefixing cannot push a 15-digit input past the limit: only 10-digit inputs get a prefix.
    expect(canonicalizeTn('9'.repeat(15), { countryCode: '1' })).toBe('9'.repeat(15));
  });

  it('rejects a trunk-prefixed national number that becomes too long', () => {
    expect(canonicalizeTn('0' + '9'.repeat(14), { countryCode: '49' })).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  compileNumberSet,
  decideAttestation,
  EMPTY_NUMBER_SET,
  NumberSetError,
} from '../../../src/policy/attestation.js';
import { canonicalizeTn } from '../../../src/stir/tn.js';

describe('compileNumberSet', () => {
  const set = compileNumberSet(
    ['+1 (202) 555-0100', '12025551000-12025551099', '1303555*', '+44 20 7946 0958', '2025557000-2025557009'],
    { countryCode: '1' },
  );

  it('single numbers, canonicalised like calling numbers', () => {
    expect(set.has('12025550100')).toBe(true);
    expect(set.has('442079460958')).toBe(true);
    expect(set.has('12025550101')).toBe(false);
    expect(compileNumberSet(['+1-202-555-0100']).has('12025550100')).toBe(true);
  });

  it('ranges are inclusive and length-exact', () => {
    expect(set.has('12025551000')).toBe(true);
    expect(set.has('12025551050')).toBe(true);
    expect(set.has('12025551099')).toBe(true);
    expect(set.has('12025550999')).toBe(false);
    expect(set.has('12025551100')).toBe(false);
    expect(set.has('1202555105')).toBe(false);
    expect(set.has('120255510500')).toBe(false);
    // National range globalised with the country code.
    expect(set.has('12025557005')).toBe(true);
  });

  it('prefixes', () => {
    expect(set.has('13035550000')).toBe(true);
    expect(set.has('1303555')).toBe(true);
    expect(set.has('1303554')).toBe(false);
    expect(set.has('130355')).toBe(false);
  });

  it('reports its size', () => {
    expect(set.size).toEqual({ singles: 2, ranges: 2, prefixes: 1 });
  });

  it('merges overlapping ranges', () => {
    const s = compileNumberSet(['100-150', '140-200', '300-300', '120-130']);
    expect(s.size.ranges).toBe(2);
    for (const n of ['100', '149', '151', '200', '300']) expect(s.has(n)).toBe(true);
    for (const n of ['099', '201', '299', '301']) expect(s.has(n)).toBe(false);
  });

  it('many ranges: binary search agrees with a linear scan', () => {
    const entries: string[] = [];
    for (let i = 0; i < 500; i++) {
      const from = 12020000000 + i * 1000;
      entries.push(`${from}-${from + 499}`);
    }
    const s = compileNumberSet(entries);
    for (let k = 0; k < 2000; k++) {
      const n = 12020000000 + ((k * 7919) % 600_000);
      const expected = n - 12020000000 < 500_000 && (n - 12020000000) % 1000 < 500;
      expect(s.has(String(n))).toBe(expected);
    }
  });

  it.each([
    ['alice', 'not a number'],
    ['*', 'bare * would match every number'],
    ['12a*', 'bad prefix'],
    ['200-100', 'reversed range'],
    ['100-1000', 'ends of different length'],
    ['555-0100', 'one dash between plain groups is a range'],
    ['', 'empty'],
  ])('rejects %j (%s) with bad_number_entry', (entry) => {
    let err: unknown;
    try {
      compileNumberSet([entry]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NumberSetError);
    expect((err as NumberSetError).code).toBe('bad_number_entry');
    expect((err as NumberSetError).entry).toBe(entry);
  });
});

describe('decideAttestation (RFC 8588 §4, ATIS-1000074 §5.2.3)', () => {
  const numbers = compileNumberSet(['12025550100']);
  const decide = (customerKnown: boolean, gateway: boolean, raw: string | undefined) =>
    decideAttestation({
      customerKnown,
      gateway,
      callingTn: raw === undefined ? undefined : canonicalizeTn(raw, { countryCode: '1' }),
      numbers,
    });

  it('row 4: known customer, own number -> A', () => {
    expect(decide(true, false, '+1-202-555-0100')).toEqual({ sign: true, attest: 'A' });
    expect(decide(true, false, '2025550100')).toEqual({ sign: true, attest: 'A' });
  });

  it('row 5: known customer, number not theirs -> B', () => {
    expect(decide(true, false, '+12025550199')).toEqual({ sign: true, attest: 'B' });
    expect(
      decideAttestation({
        customerKnown: true,
        gateway: false,
        callingTn: '12025550100',
        numbers: EMPTY_NUMBER_SET,
      }),
    ).toEqual({ sign: true, attest: 'B' });
  });

  it('row 2: gateway ingress -> C, whoever the customer is', () => {
    expect(decide(false, true, '+442079460958')).toEqual({ sign: true, attest: 'C' });
    expect(decide(true, true, '+12025550100')).toEqual({ sign: true, attest: 'C' });
  });

  it('row 3: unknown customer on a non-gateway trunk -> not signed', () => {
    expect(decide(false, false, '+12025550100')).toEqual({ sign: false, reason: 'unknown_customer' });
  });

  it('row 1: no usable calling number -> not signed, before any other rule', () => {
    for (const [known, gw] of [
      [true, false],
      [false, false],
      [false, true],
      [true, true],
    ] as const) {
      expect(decide(known, gw, 'anonymous')).toEqual({ sign: false, reason: 'no_calling_number' });
      expect(decide(known, gw, undefined)).toEqual({ sign: false, reason: 'no_calling_number' });
    }
    expect(decideAttestation({ customerKnown: true, gateway: false, callingTn: '', numbers })).toEqual({
      sign: false,
      reason: 'no_calling_number',
    });
  });
});

describe('NumberSet.match', () => {
  const set = compileNumberSet(['12025550100', '1303555*', '12025551000-12025551099']);

  it('names the entry that holds the number, in canonical form', () => {
    expect(set.match('12025550100')).toBe('12025550100');
    expect(set.match('13035550000')).toBe('1303555*');
    expect(set.match('12025551050')).toBe('12025551000-12025551099');
    expect(set.match('12025551100')).toBeUndefined();
  });
});

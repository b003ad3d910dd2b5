import { describe, expect, it } from 'vitest';
import { compileDno, dnoEntry, parseDnoList } from '../../../src/policy/dno.js';

describe('parseDnoList', () => {
  it('reads numbers and prefixes, skips comments and blank lines, reports bad lines by number', () => {
    const list = parseDnoList(
      '# inbound-only numbers\n+18005550100\n\n1800555*   # a whole range\r\n12025550100 \nnot-a-number\n1202*5\n',
    );
    expect(list.entries).toEqual(['18005550100', '1800555*', '12025550100']);
    expect(list.problems).toEqual([
      { line: 6, message: expect.stringContaining('"not-a-number"') },
      { line: 7, message: expect.stringContaining('"1202*5"') },
    ]);
  });
});

describe('dnoEntry', () => {
  const dno = compileDno(['18005550100', '1888*']);

  it('names the entry that holds the calling number: exact or prefix', () => {
    expect(dnoEntry('18005550100', dno)).toBe('18005550100');
    expect(dnoEntry('18885550123', dno)).toBe('1888*');
  });

  it('others pass, and so does a call without a usable calling number', () => {
    expect(dnoEntry('18005550101', dno)).toBeUndefined();
    expect(dnoEntry('1888', dno)).toBe('1888*');
    expect(dnoEntry('188', dno)).toBeUndefined();
    expect(dnoEntry(undefined, dno)).toBeUndefined();
  });
});

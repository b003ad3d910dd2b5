import { describe, expect, it } from 'vitest';
import {
  formatNameAddr,
  parseNameAddr,
  parseNameAddrList,
  withTag,
} from '../../../../src/sip/message/name-addr.js';
import type { SipUri, TelUri } from '../../../../src/sip/message/types.js';

describe('parseNameAddr (RFC 3261 §20.10, §25.1)', () => {
  it('quoted display name with escaped quotes and backslashes', () => {
    const na = parseNameAddr('"Alice \\"The Great\\" \\\\ Smith" <sip:alice@example.com>;tag=abc');
    expect(na.displayName).toBe('Alice "The Great" \\ Smith');
    expect(na.tag).toBe('abc');
    expect(na.angle).toBe(true);
  });

  it('token display names, with and without LWS before <', () => {
    expect(parseNameAddr('Alice Smith <sip:a@b>').displayName).toBe('Alice Smith');
    expect(parseNameAddr('Alice<sip:a@b>').displayName).toBe('Alice');
    expect(parseNameAddr('<sip:a@b>').displayName).toBeUndefined();
    expect(parseNameAddr('"" <sip:a@b>').displayName).toBe('');
  });

  it('addr-spec: parameters after the URI are header parameters', () => {
    const na = parseNameAddr('sip:+12025551234@example.com;user=phone;tag=x1');
    expect(na.angle).toBe(false);
    expect((na.uri as SipUri).params.size).toBe(0);
    expect([...na.params]).toEqual([
      ['user', 'phone'],
      ['tag', 'x1'],
    ]);
    expect(na.tag).toBe('x1');
  });

  it('name-addr: parameters inside <> belong to the URI', () => {
    const na = parseNameAddr('<sip:a@b;user=phone;lr>;expires=60;q=0.5');
    expect([...(na.uri as SipUri).params]).toEqual([
      ['user', 'phone'],
      ['lr', null],
    ]);
    expect([...na.params]).toEqual([
      ['expires', '60'],
      ['q', '0.5'],
    ]);
  });

  it('LWS around ; and = , quoted parameter values, case-insensitive names', () => {
    const na = parseNameAddr('<sip:a@b> ; TAG = 12 ;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0>" ; x');
    expect(na.tag).toBe('12');
    expect(na.params.get('+sip.instance')).toBe('"<urn:uuid:f81d4fae-7dec-11d0>"');
    expect(na.params.get('x')).toBeNull();
  });

  it('tel URIs in P-Asserted-Identity', () => {
    const na = parseNameAddr('<tel:+12025551234;verstat=TN-Validation-Passed>');
    expect((na.uri as TelUri).number).toBe('+12025551234');
    expect((na.uri as TelUri).params.get('verstat')).toBe('TN-Validation-Passed');
  });

  it.each([
    ['"unterminated <sip:a@b>', 'unterminated quote'],
    ['"name" sip:a@b', 'quoted name without <>'],
    ['<sip:a@b', 'missing >'],
    ['sip:a@b?subject=x', '"?" in an addr-spec without <>'],
    ['Bell, Alexander <sip:a@b>', 'comma in an unquoted display name'],
    ['<sip:a@b>;;', 'empty parameter'],
    ['<sip:a@b>;tag=', 'empty parameter value'],
    ['<sip:a@b>;tag="x', 'unterminated quoted parameter value'],
    ['<sip:a@b> junk', 'junk after the name-addr'],
    ['<not a uri>', 'bad URI'],
    ['', 'empty'],
  ])('refuses %j (%s) with bad_name_addr', (value) => {
    expect(() => parseNameAddr(value)).toThrow(expect.objectContaining({ code: 'bad_name_addr' }));
  });

  it('liberal: LWS just inside <> is ignored (RFC 4475 §3.1.2.14)', () => {
    expect((parseNameAddr('< sip:a@b.example >').uri as SipUri).host).toBe('b.example');
  });
});

describe('parseNameAddrList', () => {
  it('splits on commas outside quotes and <>', () => {
    const list = parseNameAddrList('"Doe, John" <sip:j@a;x=1,2>, <tel:+1202>;p=1 ,sip:c@d');
    expect(list.map((n) => n.displayName)).toEqual(['Doe, John', undefined, undefined]);
    expect(list.map((n) => n.uri.scheme)).toEqual(['sip', 'tel', 'sip']);
    expect(list[1]!.params.get('p')).toBe('1');
  });

  it('refuses empty elements', () => {
    expect(() => parseNameAddrList('<sip:a@b>,,<sip:c@d>')).toThrow(
      expect.objectContaining({ code: 'bad_name_addr' }),
    );
    expect(() => parseNameAddrList('')).toThrow(expect.objectContaining({ code: 'bad_name_addr' }));
  });
});

describe('formatNameAddr / withTag', () => {
  it('round-trips through parse', () => {
    for (const v of [
      '"Alice \\"A\\"" <sip:alice@example.com>;tag=1',
      '<sip:a@b;lr>',
      'sip:a@b;tag=9',
      '<tel:+1202;npdi>;x=y',
    ]) {
      expect(formatNameAddr(parseNameAddr(v))).toBe(v);
    }
  });

  it('adds <> when the URI needs them or there is a display name', () => {
    const na = parseNameAddr('Bob <sip:b@h>');
    expect(formatNameAddr(na)).toBe('"Bob" <sip:b@h>');
    const bare = { ...parseNameAddr('sip:b@h'), uri: parseNameAddr('<sip:b@h;lr>').uri };
    expect(formatNameAddr(bare)).toBe('<sip:b@h;lr>');
  });

  it('withTag sets the tag without touching the original', () => {
    const na = parseNameAddr('<sip:a@b>;x=1');
    const tagged = withTag(na, 'abc');
    expect(tagged.tag).toBe('abc');
    expect(formatNameAddr(tagged)).toBe('<sip:a@b>;x=1;tag=abc');
    expect(na.params.has('tag')).toBe(false);
    expect(formatNameAddr(withTag(tagged, 'z'))).toBe('<sip:a@b>;x=1;tag=z');
  });
});

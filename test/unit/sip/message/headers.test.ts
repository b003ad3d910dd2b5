import { describe, expect, it } from 'vitest';
import {
  canonicalName,
  firstHeaderValue,
  isMultiValue,
  isSingleValue,
  knownHeaderName,
  splitHeaderValues,
  unicodeToWireText,
  wireHeaderName,
  wireTextToUnicode,
} from '../../../../src/sip/message/headers.js';

describe('canonicalName (RFC 3261 §7.3.1, §7.3.3)', () => {
  it.each([
    ['v', 'via'],
    ['F', 'from'],
    ['t', 'to'],
    ['i', 'call-id'],
    ['m', 'contact'],
    ['l', 'content-length'],
    ['c', 'content-type'],
    ['k', 'supported'],
    ['s', 'subject'],
    ['e', 'content-encoding'],
    ['Y', 'identity'],
    ['o', 'event'],
    ['r', 'refer-to'],
    ['b', 'referred-by'],
    ['u', 'allow-events'],
    ['x', 'session-expires'],
    ['a', 'accept-contact'],
    ['j', 'reject-contact'],
    ['d', 'request-disposition'],
  ])('compact form %s -> %s', (raw, canonical) => {
    expect(canonicalName(raw)).toBe(canonical);
  });

  it('is case-insensitive and leaves unknown names lower-cased', () => {
    expect(canonicalName('MaX-fOrWaRdS')).toBe('max-forwards');
    expect(canonicalName('CALL-ID')).toBe('call-id');
    expect(canonicalName('X-Custom-Thing')).toBe('x-custom-thing');
    expect(canonicalName('q')).toBe('q'); // single letter without a compact meaning
  });

  it('interns: two spellings give the very same string', () => {
    expect(Object.is(canonicalName('Via'), canonicalName('v'))).toBe(true);
    expect(canonicalName('P-Asserted-Identity')).toBe(canonicalName('p-asserted-identity'));
  });

  it('knownHeaderName finds common spellings; wireHeaderName validates tokens', () => {
    expect(knownHeaderName('Call-ID')).toEqual({ raw: 'Call-ID', name: 'call-id' });
    expect(knownHeaderName('CALL-ID')).toEqual({ raw: 'CALL-ID', name: 'call-id' });
    expect(knownHeaderName('Call-Id2')).toBeUndefined();
    expect(knownHeaderName('')).toBeUndefined();
    expect(wireHeaderName('Foo Bar')).toBeUndefined();
    expect(wireHeaderName('')).toBeUndefined();
    expect(wireHeaderName("X-Ok.!%*_+`'~")).toBe("x-ok.!%*_+`'~");
  });
});

describe('multi-value and single-value headers (RFC 3261 §7.3.1)', () => {
  it('classifies', () => {
    for (const n of [
      'via',
      'contact',
      'route',
      'record-route',
      'allow',
      'supported',
      'require',
      'p-asserted-identity',
    ]) {
      expect(isMultiValue(n), n).toBe(true);
    }
    for (const n of [
      'www-authenticate',
      'authorization',
      'proxy-authenticate',
      'proxy-authorization',
      'date',
      'from',
    ]) {
      expect(isMultiValue(n), n).toBe(false);
    }
    for (const n of ['call-id', 'from', 'to', 'cseq', 'max-forwards', 'content-length', 'content-type']) {
      expect(isSingleValue(n), n).toBe(true);
    }
    expect(isSingleValue('via')).toBe(false);
  });
});

describe('splitHeaderValues', () => {
  it('splits on commas outside quoted strings and <>, trimming', () => {
    expect(splitHeaderValues(' a , b,c ')).toEqual(['a', 'b', 'c']);
    expect(splitHeaderValues('"Doe, J" <sip:a@b>, <sip:c@d;x=1,2>')).toEqual([
      '"Doe, J" <sip:a@b>',
      '<sip:c@d;x=1,2>',
    ]);
    expect(splitHeaderValues('"a \\", b" <sip:x@y>, z')).toEqual(['"a \\", b" <sip:x@y>', 'z']);
  });

  it('keeps empty elements so parsers can refuse them; a blank value is no element', () => {
    expect(splitHeaderValues('a,,b,')).toEqual(['a', '', 'b', '']);
    expect(splitHeaderValues('   ')).toEqual([]);
    expect(firstHeaderValue('  x , y')).toBe('x');
    expect(firstHeaderValue('')).toBeUndefined();
  });
});

describe('wire text', () => {
  it('converts latin1 wire text to Unicode and back', () => {
    const wire = Buffer.from('Jürgen 大', 'utf8').toString('latin1');
    expect(wireTextToUnicode(wire)).toBe('Jürgen 大');
    expect(unicodeToWireText('Jürgen 大')).toBe(wire);
    expect(wireTextToUnicode('ascii')).toBe('ascii');
  });
});

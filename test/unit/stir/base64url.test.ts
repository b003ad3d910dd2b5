import { describe, expect, it } from 'vitest';
import { b64urlDecode, b64urlEncode, isB64url } from '../../../src/stir/base64url.js';

describe('base64url (RFC 4648 §5, no padding)', () => {
  it('encodes without padding using - and _', () => {
    expect(b64urlEncode(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
    expect(b64urlEncode('a')).toBe('YQ');
    expect(b64urlEncode('ab')).toBe('YWI');
    expect(b64urlEncode('abc')).toBe('YWJj');
    expect(b64urlEncode(new Uint8Array(0))).toBe('');
  });

  it('encodes a subarray view, not the whole backing buffer', () => {
    const big = Uint8Array.of(1, 2, 3, 4, 5);
    expect(b64urlEncode(big.subarray(1, 3))).toBe(Buffer.from([2, 3]).toString('base64url'));
  });

  it('round-trips', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = b64urlEncode(bytes);
      expect(isB64url(text)).toBe(true);
      expect([...b64urlDecode(text)!]).toEqual([...bytes]);
    }
  });

  it.each([
    ['YQ==', 'padding'],
    ['+_8', 'base64 +'],
    ['-/8', 'base64 /'],
    ['YW Jj', 'space'],
    ['Y', 'length 1 mod 4'],
    ['YR', 'non-zero unused bits (2 chars)'],
    ['YWJ', 'non-zero unused bits (3 chars)'],
    ['YWJj\n', 'newline'],
    ['é', 'non-ASCII'],
  ])('rejects %j (%s)', (text) => {
    expect(isB64url(text)).toBe(false);
    expect(b64urlDecode(text)).toBeUndefined();
  });
});

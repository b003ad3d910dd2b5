import { describe, expect, it } from 'vitest';
import {
  decodeJws,
  encodeClaims,
  encodedHeaderFor,
  encodeHeader,
  type ShakenClaims,
  signingInput,
} from '../../../src/stir/passport.js';

const ATIS_CLAIMS: ShakenClaims = {
  attest: 'A',
  dest: { tn: ['12125551212'] },
  iat: 1443208345,
  orig: { tn: '12125551212' },
  origid: '123e4567-e89b-12d3-a456-426655440000',
};

describe('canonical PASSporT JSON (RFC 8225 §9, RFC 8588)', () => {
  it('header: lexicographic keys, no white space', () => {
    expect(
      encodeHeader({
        alg: 'ES256',
        ppt: 'shaken',
        typ: 'passport',
        x5u: 'https://cert.example.org/passport.cer',
      }),
    ).toBe('{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.cer"}');
  });

  it('claims: lexicographic keys (attest, dest, iat, orig, origid), iat a number', () => {
    expect(encodeClaims(ATIS_CLAIMS)).toBe(
      '{"attest":"A","dest":{"tn":["12125551212"]},"iat":1443208345,"orig":{"tn":"12125551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}',
    );
  });

  it('several dest numbers, attest C', () => {
    expect(
      encodeClaims({ attest: 'C', dest: { tn: ['1', '22'] }, iat: 0, orig: { tn: '3' }, origid: 'x' }),
    ).toBe('{"attest":"C","dest":{"tn":["1","22"]},"iat":0,"orig":{"tn":"3"},"origid":"x"}');
  });

  it('ignores the order and extra members of the input objects', () => {
    const shuffled = {
      origid: 'o',
      orig: { tn: '2', extra: 1 },
      iat: 5,
      extra: true,
      dest: { tn: ['1'] },
      attest: 'B',
    } as unknown as ShakenClaims;
    expect(encodeClaims(shuffled)).toBe(
      '{"attest":"B","dest":{"tn":["1"]},"iat":5,"orig":{"tn":"2"},"origid":"o"}',
    );
  });

  it('escapes strings as JSON', () => {
    expect(encodeHeader({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: 'https://a/"b\\' })).toBe(
      '{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://a/\\"b\\\\"}',
    );
  });

  it('refuses a non-integer iat (trap: iat as string or fraction)', () => {
    expect(() => encodeClaims({ ...ATIS_CLAIMS, iat: 1.5 })).toThrow(TypeError);
    expect(() => encodeClaims({ ...ATIS_CLAIMS, iat: '1' as unknown as number })).toThrow(TypeError);
  });

  it('matches the ATIS-1000074 example PASSporT byte for byte', () => {
    // Header and payload sections of the example Identity header in ATIS-1000074 / RFC 8588.
    expect(encodedHeaderFor('https://cert.example.org/passport.cer')).toBe(
      'eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9',
    );
    expect(
      signingInput(
        { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: 'https://cert.example.org/passport.cer' },
        ATIS_CLAIMS,
      ),
    ).toBe(
      'eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9.' +
        'eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjEyNTU1MTIxMiJdfSwiaWF0IjoxNDQzMjA4MzQ1LCJvcmlnIjp7InRuIjoiMTIxMjU1NTEyMTIifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjU1NDQwMDAwIn0',
    );
  });

  it('header cache returns the same encoding per x5u and stays bounded', () => {
    const a = encodedHeaderFor('https://a.example/1.pem');
    for (let i = 0; i < 200; i++) encodedHeaderFor(`https://a.example/${i}.pem`);
    expect(encodedHeaderFor('https://a.example/1.pem')).toBe(a);
    expect(Buffer.from(a, 'base64url').toString()).toContain('"x5u":"https://a.example/1.pem"');
  });
});

describe('decodeJws', () => {
  const h = Buffer.from('{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://x/y"}').toString(
    'base64url',
  );
  const p = Buffer.from('{"attest":"A"}').toString('base64url');
  const sigBytes = Buffer.alloc(64, 7);
  const s = sigBytes.toString('base64url');

  it('splits and parses a full JWS, exposing the raw signature and the received signing input', () => {
    const r = decodeJws(`${h}.${p}.${s}`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header).toEqual({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: 'https://x/y' });
    expect(r.payload).toEqual({ attest: 'A' });
    expect(r.signature.equals(sigBytes)).toBe(true);
    expect(r.signingInput).toBe(`${h}.${p}`);
    expect(r.compact).toBe(false);
    expect([r.headerB64, r.payloadB64, r.signatureB64]).toEqual([h, p, s]);
  });

  it('compact form: empty payload section', () => {
    const r = decodeJws(`${h}..${s}`);
    expect(r.ok && r.compact && r.payload === undefined && r.payloadB64 === '').toBe(true);
  });

  it.each([
    ['', 'jws_malformed'],
    ['abc', 'jws_malformed'],
    ['a.b', 'jws_malformed'],
    ['a.b.c.d', 'jws_malformed'],
    [`.${'e30'}.${'AA'}`, 'jws_malformed'],
    [`e30.e30.`, 'jws_malformed'],
    [`${h}=.${p}.${s}`, 'jws_bad_base64url'],
    [`${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}+`, 'jws_bad_base64url'],
    [`${h}.${Buffer.from('{"a":1}').toString('base64')}.${s}`, 'jws_bad_base64url'],
    [`${Buffer.from('not json').toString('base64url')}.${p}.${s}`, 'jws_bad_json'],
    [`${Buffer.from('[1]').toString('base64url')}.${p}.${s}`, 'jws_bad_json'],
    [`${h}.${Buffer.from('"str"').toString('base64url')}.${s}`, 'jws_bad_json'],
    [`${h}.${Buffer.from('null').toString('base64url')}.${s}`, 'jws_bad_json'],
  ])('rejects %j with %s', (token, code) => {
    const r = decodeJws(token);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });
});

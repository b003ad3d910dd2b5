import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { passportDigest as b2buaDigest } from '../../../../src/b2bua/traceback-events.js';
import {
  decodePassport,
  PptDecodeError,
  passportDigest,
  shakenClaims,
} from '../../../../src/stir/ppt/index.js';
import { Signer } from '../../../../src/stir/signer.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const SIG = Buffer.alloc(64, 7).toString('base64url');
const HEADER = { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: 'https://cert.example/sp.pem' };
const CLAIMS = {
  attest: 'A',
  dest: { tn: ['12025550199'] },
  iat: 1_765_000_000,
  orig: { tn: '12025550100' },
  origid: '0b3ad0e4-7e3c-4a4e-9a55-0c1b3f1e2d4c',
};
const jws = (h: unknown = HEADER, c: unknown = CLAIMS) =>
  `${b64(JSON.stringify(h))}.${b64(JSON.stringify(c))}.${SIG}`;
const full = (token: string) => `${token};info=<https://cert.example/sp.pem>;alg=ES256;ppt=shaken`;

function decodeError(value: string): PptDecodeError {
  const d = decodePassport(value);
  if (!(d instanceof PptDecodeError)) throw new Error(`decoded: ${JSON.stringify(d)}`);
  return d;
}

describe('decodePassport', () => {
  it('decodes what our signer emits, with the digest the B2BUA records', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const signer = new Signer({
      privateKey: key,
      x5u: 'https://cert.example/sp.pem',
      clock: () => 1_765_000_000_500,
    });
    const r = signer.signSync({
      attest: 'B',
      origTn: '+1 202 555 0100',
      destTns: ['12025550199'],
      origid: CLAIMS.origid,
    });
    if (!r.ok) throw new Error(r.code);
    const d = decodePassport(r.identity);
    if (d instanceof PptDecodeError) throw d;
    expect(d.token).toBe(r.jws);
    expect(d.info).toBe('https://cert.example/sp.pem');
    expect(d.params).toEqual({ alg: 'ES256', ppt: 'shaken' });
    expect(d.ppt).toBe('shaken');
    expect(d.compactForm).toBe(false);
    expect(d.header).toEqual(HEADER);
    expect(shakenClaims(d)).toEqual({
      attest: 'B',
      origid: CLAIMS.origid,
      iat: 1_765_000_000,
      orig: '12025550100',
      dest: ['12025550199'],
    });
    expect(passportDigest(d.token)).toBe(b2buaDigest(r.jws));
  });

  it('decodes a forged PASSporT without judging it: bad signature, odd attest, expired iat, no parameters', () => {
    const forged = jws({ alg: 'none', ppt: 'shaken' }, { ...CLAIMS, attest: 'Z', iat: 1 });
    const d = decodePassport(`  ${forged}  `);
    if (d instanceof PptDecodeError) throw d;
    expect(d.info).toBeUndefined();
    expect(d.ppt).toBe('shaken'); // from the JWS header when the header field has no ppt parameter
    const c = shakenClaims(d);
    expect(c).toMatchObject({ attest: 'Z', iat: 1 });
  });

  it('the digest is SHA-256 of the token as sent, base64url', () => {
    expect(passportDigest('a.b.c')).toBe('hF4wRIgJ4ryJWOsCW_x5UjXROwd6U9DDq70jhRcNybg');
  });

  it('a compact form decodes, but has no claims to search by', () => {
    const compact = `${b64(JSON.stringify(HEADER))}..${SIG};info=<https://cert.example/sp.pem>;alg=ES256;ppt=shaken`;
    const d = decodePassport(compact);
    if (d instanceof PptDecodeError) throw d;
    expect(d.compactForm).toBe(true);
    expect(d.claims).toBeUndefined();
    const c = shakenClaims(d);
    expect(c instanceof PptDecodeError && [c.code, c.path]).toEqual(['compact_form', 'payload']);
  });

  it.each([
    ['empty', ''],
    ['prose', 'hello world'],
    ['a SIP header name only', 'Identity:'],
  ])('not an Identity header: %s', (_why, value) => {
    expect(decodeError(value).code).toBe('not_identity_header');
  });

  it('stray text after the PASSporT is named as the parameters', () => {
    const e = decodeError(`${jws()} info=<https://x>`);
    expect([e.code, e.path]).toEqual(['not_identity_header', 'params']);
  });

  it.each([
    ['two sections', `${b64('{}')}.${SIG}`],
    ['four sections', `${jws()}.${SIG}`],
    ['empty signature', `${b64(JSON.stringify(HEADER))}.${b64('{}')}.`],
  ])('malformed JWS: %s', (_why, token) => {
    const e = decodeError(full(token));
    expect([e.code, e.path]).toEqual(['jws_malformed', 'token']);
  });

  it.each([
    ['standard base64 alphabet', jws().replace(/^./, '+')],
    ['padding', `${b64(JSON.stringify(HEADER))}=.${b64('{}')}.${SIG}`],
  ])('not base64url: %s', (_why, token) => {
    expect(decodeError(full(token)).code).toBe('jws_bad_base64url');
  });

  it.each([
    ['header not JSON', `${b64('not json')}.${b64(JSON.stringify(CLAIMS))}.${SIG}`],
    ['payload an array', `${b64(JSON.stringify(HEADER))}.${b64('[1]')}.${SIG}`],
  ])('not JSON: %s', (_why, token) => {
    expect(decodeError(full(token)).code).toBe('jws_bad_json');
  });

  it.each([
    ['origid', { ...CLAIMS, origid: undefined }, 'payload.origid'],
    ['iat as a string', { ...CLAIMS, iat: '1765000000' }, 'payload.iat'],
    ['orig.tn', { ...CLAIMS, orig: { uri: 'sip:a@b' } }, 'payload.orig.tn'],
    ['dest.tn not an array', { ...CLAIMS, dest: { tn: '12025550199' } }, 'payload.dest.tn'],
  ])('missing claims: %s', (_why, claims, path) => {
    const d = decodePassport(full(jws(HEADER, claims)));
    if (d instanceof PptDecodeError) throw d;
    const c = shakenClaims(d);
    expect(c instanceof PptDecodeError && [c.code, c.path]).toEqual(['claims_missing', path]);
  });
});

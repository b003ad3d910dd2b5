import { describe, expect, it } from 'vitest';
import {
  formatIdentityHeader,
  jwsHeaderPpt,
  type ParsedIdentity,
  parseIdentityHeader,
  selectShakenIdentity,
  splitIdentityValues,
} from '../../../src/stir/identity-header.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64url');
const SHAKEN_HDR = b64('{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://c.example/sp.pem"}');
const DIV_HDR = b64('{"alg":"ES256","ppt":"div","typ":"passport","x5u":"https://c.example/sp.pem"}');
const PAYLOAD = b64('{"attest":"A"}');
const SIG = Buffer.alloc(64, 1).toString('base64url');
const JWS = `${SHAKEN_HDR}.${PAYLOAD}.${SIG}`;
const DIV_JWS = `${DIV_HDR}.${PAYLOAD}.${SIG}`;

function ok(v: ReturnType<typeof parseIdentityHeader>): ParsedIdentity {
  if ('error' in v) throw new Error('expected a parsed identity');
  return v;
}

describe('formatIdentityHeader (RFC 8224 §4.1 full form, ATIS-1000074 §5.3.1)', () => {
  it('writes jws;info=<url>;alg=ES256;ppt=shaken', () => {
    expect(formatIdentityHeader('a.b.c', 'https://cert.example.org/passport.cer')).toBe(
      'a.b.c;info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken',
    );
  });

  it('round-trips through the parser', () => {
    const p = ok(parseIdentityHeader(formatIdentityHeader(JWS, 'https://c.example/sp.pem')));
    expect(p.token).toBe(JWS);
    expect(p.info).toBe('https://c.example/sp.pem');
    expect([...p.params]).toEqual([
      ['alg', 'ES256'],
      ['ppt', 'shaken'],
    ]);
    expect(p.compact).toBe(false);
  });
});

describe('parseIdentityHeader', () => {
  it('accepts quoted ppt and unquotes it', () => {
    const p = ok(parseIdentityHeader(`${JWS};info=<https://x/y>;alg=ES256;ppt="shaken"`));
    expect(p.params.get('ppt')).toBe('shaken');
  });

  it('accepts info without angle brackets and quoted info', () => {
    expect(ok(parseIdentityHeader(`${JWS};info=https://x/y.pem;ppt=shaken`)).info).toBe('https://x/y.pem');
    expect(ok(parseIdentityHeader(`${JWS};info="https://x/y.pem"`)).info).toBe('https://x/y.pem');
  });

  it('keeps ; and , inside angle brackets as part of info', () => {
    const p = ok(parseIdentityHeader(`${JWS};info=<https://x/a;b,c.pem>;alg=ES256`));
    expect(p.info).toBe('https://x/a;b,c.pem');
    expect(p.params.get('alg')).toBe('ES256');
  });

  it('tolerates white space around every part and lower-cases parameter names', () => {
    const p = ok(parseIdentityHeader(`  ${JWS} ;\tINFO = < https://x/y > ; Alg = ES256 ;PPT= shaken  `));
    expect(p.token).toBe(JWS);
    expect(p.info).toBe('https://x/y');
    expect(p.params.get('alg')).toBe('ES256');
    expect(p.params.get('ppt')).toBe('shaken');
  });

  it('tolerates a trailing ;', () => {
    expect(ok(parseIdentityHeader(`${JWS};ppt=shaken; `)).params.get('ppt')).toBe('shaken');
  });

  it('accepts a bare token (no parameters) with info undefined', () => {
    const p = ok(parseIdentityHeader(JWS));
    expect(p.info).toBeUndefined();
    expect(p.params.size).toBe(0);
  });

  it('detects the compact form (empty payload section)', () => {
    const p = ok(parseIdentityHeader(`${SHAKEN_HDR}..${SIG};info=<https://x/y>;alg=ES256;ppt=shaken`));
    expect(p.compact).toBe(true);
    expect(p.token).toBe(`${SHAKEN_HDR}..${SIG}`);
  });

  it('keeps the first of duplicated parameters and unknown parameters', () => {
    const p = ok(parseIdentityHeader(`${JWS};ppt=shaken;ppt=div;foo=bar;flag`));
    expect(p.params.get('ppt')).toBe('shaken');
    expect(p.params.get('foo')).toBe('bar');
    expect(p.params.get('flag')).toBe('');
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['garbage', 'no dots'],
    ['a.b', 'two sections'],
    ['a.b.c.d', 'four sections'],
    ['.b.c', 'empty header section'],
    ['a.b.', 'empty signature section'],
    [`${JWS}info=<https://x/y>`, 'missing ; before info (token swallows "info")'],
    [`${JWS} info=<https://x/y>`, 'missing ; (space)'],
    [`${JWS};info=<https://x/y>alg=ES256`, 'missing ; between params'],
    [`${JWS};info=<https://x/y`, 'unterminated <'],
    [`${JWS};ppt="shaken`, 'unterminated quote'],
    [`${JWS};=x`, 'empty parameter name'],
    [`${JWS};;ppt=shaken`, 'empty parameter between ;;'],
    [`"${JWS}"`, 'quoted token'],
    [`${JWS},${JWS}`, 'comma list (split first with splitIdentityValues)'],
    ['\u0000\uffff;;;', 'binary'],
  ])('malformed: %j (%s)', (value) => {
    expect(parseIdentityHeader(value)).toEqual({ error: 'malformed' });
  });

  it('never throws on random input', () => {
    const alphabet = 'ab.;=<>" ,\\\t-_0';
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const len = rnd() % 40;
      for (let j = 0; j < len; j++) s += alphabet[rnd() % alphabet.length];
      expect(() => parseIdentityHeader(s)).not.toThrow();
    }
  });
});

describe('selectShakenIdentity', () => {
  const shaken = `${JWS};info=<https://x/y>;alg=ES256;ppt=shaken`;
  const div = `${DIV_JWS};info=<https://x/y>;alg=ES256;ppt=div`;

  it('picks the ppt=shaken value among several', () => {
    const p = selectShakenIdentity([div, shaken]);
    expect(p !== undefined && p !== 'malformed' && p.token).toBe(JWS);
  });

  it('accepts quoted and upper-case ppt', () => {
    const p = selectShakenIdentity([div, `${JWS};info=<https://x/y>;ppt="SHAKEN"`]);
    expect(p !== undefined && p !== 'malformed' && p.token).toBe(JWS);
  });

  it('without a ppt parameter, reads ppt from the JWS header', () => {
    const p = selectShakenIdentity([`${DIV_JWS};info=<https://x/y>`, `${JWS};info=<https://x/y>`]);
    expect(p !== undefined && p !== 'malformed' && p.token).toBe(JWS);
    expect(jwsHeaderPpt(JWS)).toBe('shaken');
    expect(jwsHeaderPpt('!!!.x.y')).toBeUndefined();
  });

  it('splits a comma-joined line into separate values', () => {
    expect(splitIdentityValues(`${div}, ${shaken}`)).toHaveLength(2);
    expect(splitIdentityValues(`${JWS};info=<https://x/a,b>`)).toHaveLength(1);
    const p = selectShakenIdentity([`${div}, ${shaken}`]);
    expect(p !== undefined && p !== 'malformed' && p.token).toBe(JWS);
  });

  it('undefined when nothing is SHAKEN and everything parsed', () => {
    expect(selectShakenIdentity([])).toBeUndefined();
    expect(selectShakenIdentity([div])).toBeUndefined();
  });

  it("'malformed' when nothing is SHAKEN and a value was unreadable", () => {
    expect(selectShakenIdentity([div, 'garbage'])).toBe('malformed');
  });

  it('a readable SHAKEN value wins over a malformed neighbour', () => {
    const p = selectShakenIdentity(['garbage', shaken]);
    expect(p !== undefined && p !== 'malformed' && p.token).toBe(JWS);
  });
});

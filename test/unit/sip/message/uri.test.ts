import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../../../src/sip/message/errors.js';
import type { SipUri, TelUri } from '../../../../src/sip/message/types.js';
import {
  formatUri,
  parseUri,
  unescapeUriPart,
  uriUserNumber,
  userParams,
  withoutUserParam,
  withUserParam,
} from '../../../../src/sip/message/uri.js';

const sip = (raw: string): SipUri => parseUri(raw) as SipUri;
const tel = (raw: string): TelUri => parseUri(raw) as TelUri;

describe('parseUri: sip / sips (RFC 3261 §19.1.1)', () => {
  it('splits user, password, host, port, params and headers', () => {
    const u = sip(
      'sips:alice:secret@Example.COM:5061;transport=tcp;lr;Maddr=10.0.0.1?subject=hi&priority=urgent',
    );
    expect(u.scheme).toBe('sips');
    expect(u.user).toBe('alice');
    expect(u.password).toBe('secret');
    expect(u.host).toBe('example.com');
    expect(u.port).toBe(5061);
    expect([...u.params]).toEqual([
      ['transport', 'tcp'],
      ['lr', null],
      ['maddr', '10.0.0.1'],
    ]);
    expect(u.headers).toBe('subject=hi&priority=urgent');
  });

  it('host only, scheme case-insensitive', () => {
    const u = sip('SIP:proxy.example.net');
    expect([u.scheme, u.user, u.host, u.port, u.params.size]).toEqual([
      'sip',
      undefined,
      'proxy.example.net',
      undefined,
      0,
    ]);
  });

  it('IPv6 references keep their brackets, with and without port', () => {
    expect(sip('sip:[2001:DB8::1]').host).toBe('[2001:db8::1]');
    const u = sip('sip:bob@[2001:db8::10:5060]:5070;transport=udp');
    expect([u.user, u.host, u.port]).toEqual(['bob', '[2001:db8::10:5060]', 5070]);
    expect(sip('sip:[::ffff:192.0.2.1]:5060').host).toBe('[::ffff:192.0.2.1]');
  });

  it('user=phone with a telephone-subscriber user part and user-part parameters', () => {
    const u = sip(
      'sip:+1-202-555-1234;npdi;rn=+12025550000;verstat=TN-Validation-Passed@gw.example.net;user=phone',
    );
    expect(u.user).toBe('+1-202-555-1234;npdi;rn=+12025550000;verstat=TN-Validation-Passed');
    expect(u.params.get('user')).toBe('phone');
    expect(uriUserNumber(u)).toBe('+1-202-555-1234');
    expect([...userParams(u)]).toEqual([
      ['npdi', null],
      ['rn', '+12025550000'],
      ['verstat', 'TN-Validation-Passed'],
    ]);
  });

  it.each([
    ['sip:', 'empty host'],
    ['sip:@host', 'empty user'],
    ['sip:user@', 'empty host after @'],
    ['sip:user@host:99999', 'port out of range'],
    ['sip:user@host:', 'empty port'],
    ['sip:user@host;;lr', 'empty parameter'],
    ['sip:user@ho st', 'space in host'],
    ['sip:us er@host', 'space in user'],
    ['sip:user@[2001:db8::1', 'unclosed IPv6 reference'],
    ['sip:user@host>x', 'junk after host'],
    ['<sip:user@host>', 'angle brackets'],
    ['sip:user@host;a="b"', 'quote in a parameter'],
    ['1sip:host', 'scheme must start with a letter'],
    ['nocolon', 'no scheme'],
    ['', 'empty'],
    ['sip:caf\u00e9@host', 'raw non-ASCII'],
  ])('refuses %j (%s) with bad_uri', (raw) => {
    expect(() => parseUri(raw)).toThrow(expect.objectContaining({ code: 'bad_uri' }));
    expect(() => parseUri(raw)).toThrow(SipParseError);
  });

  it('formatUri writes the URI back from its fields', () => {
    for (const raw of [
      'sip:alice@example.com',
      'sips:alice:pw@example.com:5061;transport=tls;lr?h=v',
      'sip:[2001:db8::1]:5060',
      'sip:+12025551234;verstat=TN-Validation-Passed@gw.example.net;user=phone',
    ]) {
      expect(formatUri(parseUri(raw))).toBe(raw);
    }
    expect(formatUri(parseUri('SIP:Alice@EXAMPLE.com;LR'))).toBe('sip:Alice@example.com;lr');
  });
});

describe('parseUri: tel (RFC 3966) and other schemes', () => {
  it('tel with ;npdi ;rn= ;verstat= parameters', () => {
    const u = tel('tel:+1-202-555-1234;npdi;rn=+1-202-555-0000;verstat=TN-Validation-Failed');
    expect(u.number).toBe('+1-202-555-1234');
    expect([...u.params]).toEqual([
      ['npdi', null],
      ['rn', '+1-202-555-0000'],
      ['verstat', 'TN-Validation-Failed'],
    ]);
    expect(uriUserNumber(u)).toBe('+1-202-555-1234');
    expect(formatUri(u)).toBe(u.raw);
  });

  it('local tel numbers with phone-context', () => {
    const u = tel('tel:7042;phone-context=example.com');
    expect([u.number, u.params.get('phone-context')]).toEqual(['7042', 'example.com']);
  });

  it.each(['tel:', 'tel:+1 202', 'tel:+1202;;x', 'tel:+1202?x=y', 'tel:abc@host'])('refuses %j', (raw) => {
    expect(() => parseUri(raw)).toThrow(expect.objectContaining({ code: 'bad_uri' }));
  });

  it('other schemes are kept verbatim with a lower-case scheme', () => {
    expect(parseUri('URN:service:sos')).toEqual({ scheme: 'urn', raw: 'URN:service:sos' });
    expect(parseUri('mailto:a@b.example')).toEqual({ scheme: 'mailto', raw: 'mailto:a@b.example' });
    expect(formatUri(parseUri('im:fred@example.com'))).toBe('im:fred@example.com');
    expect(uriUserNumber(parseUri('im:fred@example.com'))).toBeUndefined();
    expect(() => parseUri('urn:')).toThrow(expect.objectContaining({ code: 'bad_uri' }));
  });
});

describe('unescapeUriPart (RFC 3261 §19.1.2)', () => {
  it('decodes %HH, keeps malformed escapes literally', () => {
    expect(unescapeUriPart('%2B1%2d202')).toBe('+1-202');
    expect(unescapeUriPart('100%')).toBe('100%');
    expect(unescapeUriPart('%Z%45%4')).toBe('%ZE%4');
    expect(unescapeUriPart('%00')).toBe('\x00');
    expect(unescapeUriPart('plain')).toBe('plain');
  });

  it('uriUserNumber unescapes and drops user-part parameters', () => {
    expect(uriUserNumber(parseUri('sip:%2B1202555%31234;verstat=x@h'))).toBe('+12025551234');
    expect(uriUserNumber(parseUri('sip:host.example.com'))).toBeUndefined();
  });
});

describe('withUserParam / withoutUserParam (3GPP TS 24.229 §7.2A.20 verstat)', () => {
  it('adds verstat to the user part of a sip URI and updates raw', () => {
    const u = withUserParam(
      parseUri('sip:+12025551234@gw.example.net;user=phone'),
      'verstat',
      'TN-Validation-Passed',
    );
    expect(u.raw).toBe('sip:+12025551234;verstat=TN-Validation-Passed@gw.example.net;user=phone');
    expect((u as SipUri).params.get('user')).toBe('phone');
    expect(parseUri(u.raw)).toEqual(u);
  });

  it('replaces an existing one in place, case-insensitively', () => {
    const u = withUserParam(
      parseUri('sip:+1202;VERSTAT=No-TN-Validation;npdi@h'),
      'verstat',
      'TN-Validation-Failed',
    );
    expect(u.raw).toBe('sip:+1202;verstat=TN-Validation-Failed;npdi@h');
  });

  it('null writes a flag parameter; withoutUserParam removes', () => {
    const u = withUserParam(parseUri('sip:+1202@h'), 'npdi', null);
    expect(u.raw).toBe('sip:+1202;npdi@h');
    expect(withoutUserParam(u, 'NPDI').raw).toBe('sip:+1202@h');
    expect(withoutUserParam(parseUri('sip:+1202;verstat=x;rn=5@h'), 'verstat').raw).toBe('sip:+1202;rn=5@h');
  });

  it('tel URIs carry it among their parameters', () => {
    const t = withUserParam(parseUri('tel:+12025551234;npdi'), 'verstat', 'TN-Validation-Passed');
    expect(t.raw).toBe('tel:+12025551234;npdi;verstat=TN-Validation-Passed');
    expect(withoutUserParam(t, 'verstat').raw).toBe('tel:+12025551234;npdi');
  });

  it('leaves URIs without a user part and other schemes unchanged', () => {
    const host = parseUri('sip:gw.example.net');
    expect(withUserParam(host, 'verstat', 'x')).toBe(host);
    const other = parseUri('urn:x:y');
    expect(withUserParam(other, 'verstat', 'x')).toBe(other);
  });
});

describe('URIs and name-addrs without parameters share one read-only Params', () => {
  it('uses NO_PARAMS when nothing follows the host, a new Map otherwise', async () => {
    const { NO_PARAMS } = await import('../../../../src/sip/message/params.js');
    const { parseNameAddr } = await import('../../../../src/sip/message/name-addr.js');
    const plain = parseUri('sip:alice@example.com:5060') as SipUri;
    expect(plain.params).toBe(NO_PARAMS);
    const withParam = parseUri('sip:alice@example.com;transport=tcp') as SipUri;
    expect(withParam.params).not.toBe(NO_PARAMS);
    expect(withParam.params.get('transport')).toBe('tcp');
    expect(parseNameAddr('<sip:bob@example.com>').params).toBe(NO_PARAMS);
    expect(parseNameAddr('<sip:bob@example.com>;tag=x1').params.get('tag')).toBe('x1');
    expect(() => plain.params.set('lr', null)).toThrow(TypeError);
    expect(NO_PARAMS.size).toBe(0);
  });
});

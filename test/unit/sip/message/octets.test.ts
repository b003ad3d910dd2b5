import { describe, expect, it } from 'vitest';
import type { SipParseError } from '../../../../src/sip/message/errors.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';

const HEAD = [
  'INVITE sip:+12025550101@127.0.0.1 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-oct',
  'Max-Forwards: 70',
  'From: <sip:+12025550100@127.0.0.2>;tag=1',
  'To: <sip:+12025550101@127.0.0.1>',
  'Call-ID: octets@test',
  'CSeq: 1 INVITE',
];

function wire(extra: Buffer, body = Buffer.alloc(0)): Buffer {
  return Buffer.concat([
    Buffer.from(`${HEAD.join('\r\n')}\r\n`, 'latin1'),
    extra,
    Buffer.from(`\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
    body,
  ]);
}

function refusal(buf: Buffer): SipParseError {
  try {
    parseMessage(buf);
  } catch (e) {
    return e as SipParseError;
  }
  throw new Error('parsed');
}

describe('octets in the header section (RFC 3261 §25.1)', () => {
  it('refuses a NUL in a header value with bad_octets, keeping the request to answer 400', () => {
    const e = refusal(wire(Buffer.from('Subject: a\0b', 'latin1')));
    expect(e.code).toBe('bad_octets');
    expect(e.partial?.isRequest() && e.partial.callId).toBe('octets@test');
  });

  it('refuses octets that are not UTF-8 (a lone 0xE9, an overlong form, a surrogate)', () => {
    for (const bad of [
      [0xe9, 0x20],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      const e = refusal(wire(Buffer.concat([Buffer.from('Subject: x', 'latin1'), Buffer.from(bad)])));
      expect(e.code, String(bad)).toBe('bad_octets');
      expect(e.partial).toBeDefined();
    }
  });

  it('accepts UTF-8 text and a NUL escaped as a quoted-pair (RFC 4475 §3.1.1.3)', () => {
    const m = parseMessage(wire(Buffer.from('Subject: J\u00fcrgen \u00e7a va\r\nX-Q: "a \\\0 b"', 'utf8')));
    expect(m.get('subject')).toBe(Buffer.from('J\u00fcrgen \u00e7a va', 'utf8').toString('latin1'));
    expect(m.get('x-q')).toBe('"a \\\0 b"');
  });

  it('leaves the body alone: NUL and any octet may follow the empty line', () => {
    const body = Buffer.from([0x00, 0xff, 0xfe, 0x00]);
    const m = parseMessage(wire(Buffer.from('Content-Type: application/isup', 'latin1'), body));
    expect(m.body.equals(body)).toBe(true);
  });
});

describe('limits keep the request to answer (RFC 3261 §8.2.6, docs/errors.md)', () => {
  it('too_many_headers and line_too_long carry the request read so far', () => {
    const many = Buffer.from(Array.from({ length: 300 }, (_, i) => `X-H${i}: v`).join('\r\n'), 'latin1');
    const e1 = refusal(wire(many));
    expect(e1.code).toBe('too_many_headers');
    expect(e1.partial?.has('via')).toBe(true);
    const e2 = refusal(wire(Buffer.from(`X-Long: ${'a'.repeat(9000)}`, 'latin1')));
    expect(e2.code).toBe('line_too_long');
    expect(e2.partial?.has('via')).toBe(true);
  });

  it('too_large carries the request when its headers can be read', () => {
    const e = refusal(
      wire(Buffer.from('Content-Type: application/sdp', 'latin1'), Buffer.alloc(70_000, 0x61)),
    );
    expect(e.code).toBe('too_large');
    expect(e.partial?.isRequest() && e.partial.method).toBe('INVITE');
  });
});

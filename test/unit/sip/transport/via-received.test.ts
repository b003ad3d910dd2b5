import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../../../src/sip/message/errors.js';
import { SipRequest } from '../../../../src/sip/message/message.js';
import type { SipHeader } from '../../../../src/sip/message/types.js';
import { setViaParams, stampReceived, topElementEnd } from '../../../../src/sip/transport/via-received.js';

function req(...vias: [rawName: string, value: string][]): SipRequest {
  const headers: SipHeader[] = [
    { name: 'call-id', rawName: 'Call-ID', value: 'x@y' },
    ...vias.map(([rawName, value]) => ({ name: 'via', rawName, value })),
    { name: 'cseq', rawName: 'CSeq', value: '1 OPTIONS' },
  ];
  return new SipRequest('OPTIONS', 'sip:a@b', headers);
}

const src = { address: '192.0.2.7', port: 40123 };

describe('stampReceived (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('leaves a Via whose sent-by IP is the source address alone', () => {
    const m = req(['Via', 'SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1']);
    expect(stampReceived(m, src)).toBe(false);
    expect(m.headers[1]!.value).toBe('SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1');
  });

  it('adds received when sent-by is a domain name', () => {
    const m = req(['Via', 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1']);
    expect(stampReceived(m, src)).toBe(true);
    expect(m.topVia!.received).toBe('192.0.2.7');
    expect(m.headers[1]!.value).toBe('SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;received=192.0.2.7');
  });

  it('adds received when sent-by is another IP, and keeps the message cache coherent', () => {
    const m = req(['Via', 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1']);
    expect(m.topVia!.received).toBeUndefined(); // cached before the edit
    stampReceived(m, src);
    expect(m.topVia!.received).toBe('192.0.2.7');
    expect(m.topVia!.port).toBe(5060);
  });

  it('fills an empty rport and adds received even when the address matches (RFC 3581 §4)', () => {
    const m = req(['Via', 'SIP/2.0/UDP 192.0.2.7:5060;rport;branch=z9hG4bK1']);
    expect(stampReceived(m, src)).toBe(true);
    expect(m.headers[1]!.value).toBe(
      'SIP/2.0/UDP 192.0.2.7:5060;rport=40123;branch=z9hG4bK1;received=192.0.2.7',
    );
    expect(m.topVia!.rport).toBe(40123);
  });

  it('only edits the top element of a combined Via line and keeps the compact name', () => {
    const m = req(
      ['v', 'SIP/2.0/TCP a.example.com;branch=z9hG4bK1 , SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK0'],
      ['Via', 'SIP/2.0/UDP 10.8.8.8;branch=z9hG4bKold'],
    );
    stampReceived(m, src);
    expect(m.headers[1]).toEqual({
      name: 'via',
      rawName: 'v',
      value:
        'SIP/2.0/TCP a.example.com;branch=z9hG4bK1;received=192.0.2.7, SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK0',
    });
    expect(m.headers[2]!.value).toBe('SIP/2.0/UDP 10.8.8.8;branch=z9hG4bKold');
    expect(m.via.map((v) => v.received)).toEqual(['192.0.2.7', undefined, undefined]);
  });

  it('replaces a received that names another address', () => {
    const m = req(['Via', 'SIP/2.0/UDP h.example.com;received=10.1.1.1;branch=z9hG4bK1']);
    stampReceived(m, src);
    expect(m.headers[1]!.value).toBe('SIP/2.0/UDP h.example.com;received=192.0.2.7;branch=z9hG4bK1');
  });

  it('does not touch a received that already names the source', () => {
    const m = req(['Via', 'SIP/2.0/UDP h.example.com;received=192.0.2.7;branch=z9hG4bK1']);
    expect(stampReceived(m, src)).toBe(false);
  });

  it('compares IPv6 sent-by in canonical form and writes received without brackets (RFC 5118 §4.5)', () => {
    const same = req(['Via', 'SIP/2.0/UDP [2001:DB8:0:0:0:0:0:1]:5060;branch=z9hG4bK1']);
    expect(stampReceived(same, { address: '2001:db8::1', port: 5060 })).toBe(false);
    const other = req(['Via', 'SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bK1']);
    stampReceived(other, { address: '2001:db8::2', port: 7000 });
    expect(other.topVia!.received).toBe('2001:db8::2');
    expect(other.topVia!.rport).toBe(7000);
  });

  it('throws SipParseError for an unreadable top Via', () => {
    const m = req(['Via', 'garbage']);
    expect(() => stampReceived(m, src)).toThrow(SipParseError);
  });
});

describe('raw Via parameter editing', () => {
  it('ignores commas and semicolons inside quoted parameter values', () => {
    const v = 'SIP/2.0/UDP h;x="a,b";branch=1, SIP/2.0/UDP g';
    expect(topElementEnd(v)).toBe(v.indexOf(', SIP'));
    expect(topElementEnd('SIP/2.0/UDP h;branch=1')).toBe(22);
    expect(setViaParams('SIP/2.0/UDP h;x="a;rport";rport', '192.0.2.1', 9)).toBe(
      'SIP/2.0/UDP h;x="a;rport";rport=9;received=192.0.2.1',
    );
  });

  it('leaves an rport that already has a value', () => {
    expect(setViaParams('SIP/2.0/UDP h;rport=1', '192.0.2.1', 9)).toBe(
      'SIP/2.0/UDP h;rport=1;received=192.0.2.1',
    );
  });
});

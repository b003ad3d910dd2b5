import { describe, expect, it } from 'vitest';
import { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';
import { serializeMessage } from '../../../../src/sip/message/serialize.js';

const CANONICAL = [
  'INVITE sip:+12025551234@gw.example.net;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;rport',
  'v: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bK1, SIP/2.0/TCP 192.0.2.8;branch=z9hG4bK2',
  'Max-Forwards: 70',
  'From: "J\u00fcrgen \u00c4" <sip:alice@example.com>;tag=9fxced76sl',
  'To: <sip:bob@example.net>',
  'Call-ID: 3848276298220188511@example.com',
  'CSeq: 1 INVITE',
  'X-Unknown-Thing: ;;,,;; odd "value" <with> stuff',
  'Subject:',
  'l: 5',
  '',
  'hello',
].join('\r\n');

describe('serializeMessage (RFC 3261 §7)', () => {
  it('writes a canonically formatted message back byte for byte, including non-ASCII octets', () => {
    // Header octets 0xC3 0xBC etc. arrive as UTF-8 and must leave unchanged.
    const wire = Buffer.from(CANONICAL, 'utf8');
    expect(serializeMessage(parseMessage(wire)).equals(wire)).toBe(true);
    // Octets that are not UTF-8 are refused, never relayed (RFC 3261 §25.1; test/unit/sip/message/octets.test.ts).
    const raw = Buffer.from(CANONICAL.replace('J\u00fcrgen', 'J\xfcrgen'), 'latin1');
    expect(() => parseMessage(raw)).toThrow(expect.objectContaining({ code: 'bad_octets' }));
  });

  it('writes folded and oddly spaced headers unfolded as `rawName: value`', () => {
    const wire = Buffer.from(
      'OPTIONS sip:a@b SIP/2.0\r\nVia  :  SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom:<sip:a@b>;tag=1\r\n' +
        'TO :\r\n <sip:c@d>\r\ni:x\r\nCSeq: 1\r\n  OPTIONS\r\n\r\n',
    );
    expect(serializeMessage(parseMessage(wire)).toString()).toBe(
      'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTO: <sip:c@d>\r\n' +
        'i: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('Content-Length always equals the body: replaced in place, duplicates dropped, added when missing', () => {
    const m = parseMessage(Buffer.from(CANONICAL, 'utf8'));
    m.body = Buffer.from('a longer body');
    const text = serializeMessage(m).toString('latin1');
    expect(text).toContain(
      '\r\nX-Unknown-Thing: ;;,,;; odd "value" <with> stuff\r\nSubject:\r\nl: 13\r\n\r\na longer body',
    );
    m.append('Content-Length', '999');
    expect(
      serializeMessage(m)
        .toString('latin1')
        .match(/^(l|Content-Length):/gm),
    ).toEqual(['l:']);
    m.remove('content-length');
    expect(serializeMessage(m).toString('latin1')).toMatch(/\r\nContent-Length: 13\r\n\r\na longer body$/);
  });

  it('writes requests and responses built by code; Unicode text becomes UTF-8 octets', () => {
    const res = new SipResponse(486, 'Besetzt \u2013 bitte sp\u00e4ter');
    res.append('Via', 'SIP/2.0/UDP h;branch=z9hG4bK1').append('Subject', '\u5927\u505c\u96fb');
    const out = serializeMessage(res);
    expect(out.toString('utf8')).toBe(
      'SIP/2.0 486 Besetzt \u2013 bitte sp\u00e4ter\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: \u5927\u505c\u96fb\r\n' +
        'Content-Length: 0\r\n\r\n',
    );
    const req = new SipRequest('OPTIONS', 'sip:a@b', [], Buffer.from([0, 1, 2, 0xff]));
    const wire = serializeMessage(req);
    expect(wire.subarray(-4)).toEqual(Buffer.from([0, 1, 2, 0xff]));
    expect(wire.toString('latin1', 0, wire.length - 4)).toBe(
      'OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\n',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { type SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';

const WIRE = Buffer.from(
  [
    'INVITE sip:bob@example.net SIP/2.0',
    'Via: SIP/2.0/UDP a.example;branch=z9hG4bKa, SIP/2.0/UDP b.example;branch=z9hG4bKb',
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=1',
    'To: <sip:bob@example.net>',
    'Call-ID: c1',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.1>',
    'Route: <sip:p1.example;lr>, <sip:p2.example;lr>',
    'Record-Route: <sip:rr.example;lr>',
    'P-Asserted-Identity: <sip:+12025551234@example.com;user=phone>, <tel:+12025551234>',
    'Supported: timer, 100rel',
    'Supported: replaces',
    'WWW-Authenticate: Digest realm="a", nonce="b"',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
);

const parse = (): SipRequest => parseMessage(WIRE) as SipRequest;

describe('SipMessage header access', () => {
  it('get/getAll split only multi-value headers; count/has use canonical names', () => {
    const m = parse();
    expect(m.get('supported')).toBe('timer');
    expect(m.getAll('k')).toEqual(['timer', '100rel', 'replaces']);
    expect(m.count('Supported')).toBe(2);
    expect(m.get('www-authenticate')).toBe('Digest realm="a", nonce="b"');
    expect(m.getAll('WWW-Authenticate')).toEqual(['Digest realm="a", nonce="b"']);
    expect(m.has('v')).toBe(true);
    expect(m.has('x-none')).toBe(false);
    expect(m.get('x-none')).toBeUndefined();
  });

  it('lazy accessors', () => {
    const m = parse();
    expect(m.route.map((r) => r.uri.raw)).toEqual(['sip:p1.example;lr', 'sip:p2.example;lr']);
    expect(m.recordRoute.length).toBe(1);
    expect(m.contact[0]!.uri.raw).toBe('sip:alice@192.0.2.1');
    expect(m.pAssertedIdentity.map((p) => p.uri.scheme)).toEqual(['sip', 'tel']);
    expect(m.contentLength).toBe(0);
  });

  it('edits invalidate exactly the parsed value they touch', () => {
    const m = parse();
    expect(m.topVia!.host).toBe('a.example');
    m.prepend('Via', 'SIP/2.0/TCP top.example;branch=z9hG4bKt');
    expect(m.via.map((v) => v.host)).toEqual(['top.example', 'a.example', 'b.example']);
    m.removeFirstValue('via');
    m.removeFirstValue('via');
    expect(m.via.map((v) => v.host)).toEqual(['b.example']);
    expect(m.get('via')).toBe('SIP/2.0/UDP b.example;branch=z9hG4bKb');

    expect(m.to.tag).toBeUndefined();
    const toAt = m.headers.findIndex((h) => h.name === 'to');
    m.set('To', '<sip:bob@example.net>;tag=xyz');
    expect(m.to.tag).toBe('xyz');
    expect(m.headers.findIndex((h) => h.name === 'to')).toBe(toAt);
    expect(m.headers[toAt]!.rawName).toBe('To');

    expect(m.maxForwards).toBe(70);
    m.set('max-forwards', '69');
    expect(m.maxForwards).toBe(69);
    m.remove('Max-Forwards');
    expect(m.maxForwards).toBeUndefined();

    m.set('CSeq', '2 INVITE');
    expect(m.cseq.seq).toBe(2);
    m.set('i', 'c2');
    expect(m.callId).toBe('c2');
    m.append('Route', '<sip:p3.example;lr>');
    expect(m.route.length).toBe(3);
    m.remove('route');
    expect(m.route).toEqual([]);
    m.set('p-asserted-identity', '<tel:+1>');
    expect(m.pAssertedIdentity.length).toBe(1);
    m.set('contact', '<sip:new@h>');
    expect(m.contact[0]!.uri.raw).toBe('sip:new@h');
    m.set('from', '<sip:carol@h>;tag=9');
    expect(m.from.tag).toBe('9');
    m.remove('record-route');
    expect(m.recordRoute).toEqual([]);

    m.uri = 'sip:carol@example.org';
    expect(m.requestUri.raw).toBe('sip:carol@example.org');
  });

  it('invalidate() after direct edits of `headers`', () => {
    const m = parse();
    expect(m.callId).toBe('c1');
    const i = m.headers.findIndex((h) => h.name === 'call-id');
    m.headers[i] = { ...m.headers[i]!, value: 'c9' };
    expect(m.callId).toBe('c1');
    m.invalidate();
    expect(m.callId).toBe('c9');
  });

  it('missing mandatory headers throw missing_header; malformed ones their own code', () => {
    const r = new SipResponse(200, 'OK');
    expect(() => r.from).toThrow(expect.objectContaining({ code: 'missing_header' }));
    expect(r.via).toEqual([]);
    r.append('Max-Forwards', 'x');
    expect(() => r.maxForwards).toThrow(expect.objectContaining({ code: 'bad_max_forwards' }));
    r.append('Via', 'garbage');
    expect(() => r.via).toThrow(expect.objectContaining({ code: 'bad_via' }));
  });
});

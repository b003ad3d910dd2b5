import { describe, expect, it } from 'vitest';
import { formatVia, parseVia, withReceived } from '../../../../src/sip/message/via.js';

describe('parseVia (RFC 3261 §20.42)', () => {
  it('reads sent-protocol, sent-by and the transaction parameters', () => {
    const v = parseVia('SIP/2.0/UDP pc33.Example.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;ttl=16');
    expect(v).toMatchObject({
      protocol: 'SIP/2.0',
      transport: 'UDP',
      host: 'pc33.example.com',
      port: 5066,
      branch: 'z9hG4bK776asdhds',
      received: '192.0.2.1',
      rport: undefined,
    });
    expect(v.params.get('ttl')).toBe('16');
  });

  it('RFC 3581 rport: flag vs value', () => {
    expect(parseVia('SIP/2.0/UDP h;rport;branch=z9hG4bK1').rport).toBeNull();
    expect(parseVia('SIP/2.0/UDP h;branch=z9hG4bK1;rport=5061;received=1.2.3.4').rport).toBe(5061);
    expect(parseVia('SIP/2.0/UDP h;branch=z9hG4bK1').rport).toBeUndefined();
    expect(() => parseVia('SIP/2.0/UDP h;rport=abc')).toThrow(expect.objectContaining({ code: 'bad_via' }));
    expect(() => parseVia('SIP/2.0/UDP h;rport=70000')).toThrow(expect.objectContaining({ code: 'bad_via' }));
  });

  it('LWS around "/", ":", ";" and "=" (RFC 4475 §3.1.1.1)', () => {
    const v = parseVia('SIP  /   2.0 /UDP    192.0.2.2 : 5060 ;  branch =  z9hG4bKx  ');
    expect([v.protocol, v.transport, v.host, v.port, v.branch]).toEqual([
      'SIP/2.0',
      'UDP',
      '192.0.2.2',
      5060,
      'z9hG4bKx',
    ]);
  });

  it('IPv6 sent-by and lower-case transports', () => {
    const v = parseVia('SIP/2.0/tcp [2001:DB8::9]:5070;branch=z9hG4bK2');
    expect([v.transport, v.host, v.port]).toEqual(['TCP', '[2001:db8::9]', 5070]);
    expect(parseVia('SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3').transport).toBe('WSS');
  });

  it.each([
    ['', 'empty'],
    ['SIP/2.0/UDP', 'no sent-by'],
    ['SIP/2.0 UDP host', 'missing slash'],
    ['SIP/2.0/UDP host;;', 'empty parameter'],
    [';', 'lone semicolon'],
    ['SIP/2.0/UDP host:99999', 'port out of range'],
    ['SIP/2.0/UDP host:', 'empty port'],
    ['SIP/2.0/UDP host extra', 'junk after sent-by'],
    ['SIP/2.0/UDP [::1', 'unclosed IPv6'],
    ['SIP/2.0/UDP host;branch=', 'empty branch value'],
  ])('refuses %j (%s) with bad_via', (value) => {
    expect(() => parseVia(value)).toThrow(expect.objectContaining({ code: 'bad_via' }));
  });
});

describe('formatVia / withReceived', () => {
  it('round-trips', () => {
    for (const v of [
      'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport',
      'SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK2;received=2001:db8::9;rport=5070',
      'SIP/2.0/TCP h;x=1;branch=z9hG4bK3',
    ]) {
      expect(formatVia(parseVia(v))).toBe(v);
    }
  });

  it('takes branch/received/rport from the fields', () => {
    const v = parseVia('SIP/2.0/UDP h;rport;branch=z9hG4bK1');
    expect(formatVia({ ...v, rport: 5062, received: '10.0.0.9' })).toBe(
      'SIP/2.0/UDP h;rport=5062;branch=z9hG4bK1;received=10.0.0.9',
    );
    expect(formatVia({ ...v, branch: undefined })).toBe('SIP/2.0/UDP h;rport');
    expect(formatVia({ ...v, params: new Map(), branch: 'z9hG4bKnew' })).toBe(
      'SIP/2.0/UDP h;branch=z9hG4bKnew;rport',
    );
  });

  it('withReceived: received when sent-by differs (RFC 3261 §18.2.1), always with rport (RFC 3581 §4)', () => {
    const same = parseVia('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1');
    expect(withReceived(same, '192.0.2.1', 5060).received).toBeUndefined();
    const named = parseVia('SIP/2.0/UDP pc.example.com;branch=z9hG4bK1');
    expect(formatVia(withReceived(named, '192.0.2.1', 5060))).toBe(
      'SIP/2.0/UDP pc.example.com;branch=z9hG4bK1;received=192.0.2.1',
    );
    const rport = parseVia('SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1');
    expect(formatVia(withReceived(rport, '192.0.2.1', 40000))).toBe(
      'SIP/2.0/UDP 192.0.2.1:5060;rport=40000;branch=z9hG4bK1;received=192.0.2.1',
    );
  });
});

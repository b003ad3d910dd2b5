import { describe, expect, it } from 'vitest';
import {
  compileHeaderRules,
  copyCrossingHeaders,
  crosses,
  PASS_ALL,
} from '../../../src/b2bua/header-rules.js';
import { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';

const A_LEG = Buffer.from(
  [
    'INVITE sip:+12025550199@10.0.0.1 SIP/2.0',
    'Via: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKaleg',
    'Record-Route: <sip:10.9.9.8;lr>',
    'Route: <sip:10.0.0.1;lr>',
    'Max-Forwards: 70',
    'From: <sip:+12025550100@a.example>;tag=a1',
    'To: <sip:+12025550199@b.example>',
    'Call-ID: aleg-call-id@10.9.9.9',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@10.9.9.9>',
    'P-Asserted-Identity: <tel:+12025550100>',
    'Privacy: none',
    'Diversion: <sip:+12025550111@a.example>;reason=unconditional',
    'History-Info: <sip:+12025550111@a.example>;index=1',
    'X-Custom:  keep  me  ',
    'Proxy-Authorization: Digest username="a"',
    'Content-Type: application/sdp',
    'Content-Length: 4',
    '',
    'v=0\r\n',
  ].join('\r\n'),
);

function copy(rules = PASS_ALL): SipRequest {
  const a = parseMessage(A_LEG) as SipRequest;
  const b = new SipRequest('INVITE', 'sip:x@127.0.0.1');
  copyCrossingHeaders(a, b, rules);
  return b;
}

describe('header rules between legs (topology hiding)', () => {
  it('never carries Via, Route, Record-Route, Contact, Call-ID, CSeq, From, To, Max-Forwards or credentials', () => {
    const b = copy();
    for (const h of [
      'via',
      'route',
      'record-route',
      'contact',
      'call-id',
      'cseq',
      'from',
      'to',
      'max-forwards',
      'proxy-authorization',
    ]) {
      expect(b.has(h), h).toBe(false);
    }
    expect(b.headers.map((h) => h.value).join('\n')).not.toMatch(/10\.9\.9|aleg-call-id/);
  });

  it('passes P-Asserted-Identity, Privacy, Diversion, History-Info and unknown headers byte for byte, in order', () => {
    const b = copy();
    expect(b.headers.map((h) => `${h.rawName}: ${h.value}`)).toEqual([
      'P-Asserted-Identity: <tel:+12025550100>',
      'Privacy: none',
      'Diversion: <sip:+12025550111@a.example>;reason=unconditional',
      'History-Info: <sip:+12025550111@a.example>;index=1',
      'X-Custom: keep  me',
      'Content-Type: application/sdp',
    ]);
  });

  it('a deny list drops the named headers', () => {
    const b = copy(compileHeaderRules(undefined, ['X-Custom', 'history-info']));
    expect(b.has('x-custom')).toBe(false);
    expect(b.has('history-info')).toBe(false);
    expect(b.has('diversion')).toBe(true);
  });

  it('an allow list passes only the named headers plus what the body needs', () => {
    const b = copy(compileHeaderRules(['p-asserted-identity'], undefined));
    expect(b.headers.map((h) => h.name)).toEqual(['p-asserted-identity', 'content-type']);
    expect(crosses('via', compileHeaderRules(['via'], undefined))).toBe(false);
  });
});

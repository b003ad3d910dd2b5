import { describe, expect, it } from 'vitest';
import { calledNumbers, callingNumber } from '../../../src/b2bua/call-numbers.js';
import { markVerstat } from '../../../src/b2bua/verstat.js';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';

function invite(lines: string[], uri = 'sip:+1-202-555-0199@127.0.0.1;user=phone'): SipRequest {
  return parseMessage(
    Buffer.from(
      [
        `INVITE ${uri} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK1',
        'To: <sip:2025550198@b.example>',
        'Call-ID: c',
        'CSeq: 1 INVITE',
        ...lines,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
  ) as SipRequest;
}

describe('numbers from SIP (RFC 8224 §8.3)', () => {
  it('calling number: P-Asserted-Identity first, else From; called: Request-URI, then To', () => {
    const r = invite([
      'From: <sip:anonymous@x>;tag=1',
      'P-Asserted-Identity: <sip:alice@x>, <tel:+12025550100>',
    ]);
    expect(callingNumber(r)).toBe('+12025550100'); // RFC 3325: the PAI value that carries a number
    expect(
      callingNumber(invite(['From: <sip:+12025550101@x>;tag=1', 'P-Asserted-Identity: <sip:alice@x>'])),
    ).toBe('alice');
    expect(callingNumber(invite(['From: <sip:+12025550100@x;user=phone>;tag=1']))).toBe('+12025550100');
    expect(calledNumbers(r)).toEqual(['+1-202-555-0199', '2025550198']);
  });
});

describe('verstat marking (3GPP TS 24.229 §7.2A.20)', () => {
  it('marks the number-carrying URIs of From and PAI in place, replacing a verstat from the peer', () => {
    const r = invite([
      'From: "A" <sip:+12025550100;verstat=TN-Validation-Passed@x;user=phone>;tag=1',
      'X-Between: 1',
      'P-Asserted-Identity: <sip:+12025550100@x;user=phone>, <tel:+12025550100>',
    ]);
    markVerstat(r, 'TN-Validation-Failed');
    expect(r.get('from')).toBe('"A" <sip:+12025550100;verstat=TN-Validation-Failed@x;user=phone>;tag=1');
    expect(r.getAll('p-asserted-identity')).toEqual([
      '<sip:+12025550100;verstat=TN-Validation-Failed@x;user=phone>',
      '<tel:+12025550100;verstat=TN-Validation-Failed>',
    ]);
    expect(r.headers.map((h) => h.name).slice(4, 7)).toEqual(['from', 'x-between', 'p-asserted-identity']);
  });

  it('leaves a From that carries no telephone number alone', () => {
    const r = invite(['From: <sip:anonymous@anonymous.invalid>;tag=1']);
    markVerstat(r, 'TN-Validation-Passed');
    expect(r.get('from')).toBe('<sip:anonymous@anonymous.invalid>;tag=1');
  });
});

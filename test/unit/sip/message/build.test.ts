import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  reasonPhrase,
} from '../../../../src/sip/message/build.js';
import type { SipParseError } from '../../../../src/sip/message/errors.js';
import type { SipRequest } from '../../../../src/sip/message/message.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';
import { serializeMessage } from '../../../../src/sip/message/serialize.js';

const INVITE = Buffer.from(
  [
    'INVITE sip:bob@example.net SIP/2.0',
    'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK0;received=192.0.2.7',
    'v: SIP/2.0/TCP 198.51.100.2;branch=z9hG4bKz',
    'Max-Forwards: 69',
    'From: Alice <sip:alice@example.com>;tag=9fxced76sl',
    'To: <sip:bob@example.net>',
    'Call-ID: 3848276298220188511@example.com',
    'CSeq: 1 INVITE',
    'Timestamp: 54',
    'Contact: <sip:alice@192.0.2.1>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
);

function partialOf(file: string): SipRequest {
  try {
    parseMessage(readFileSync(new URL(`../../../fixtures/torture/${file}`, import.meta.url)));
  } catch (e) {
    return (e as SipParseError).partial as SipRequest;
  }
  throw new Error('parsed');
}

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies every Via in order, From, To, Call-ID, CSeq and adds the To tag', () => {
    const req = parseMessage(INVITE) as SipRequest;
    const res = createResponse(req, 180, undefined, { toTag: 'b0b' });
    expect([res.status, res.reason]).toEqual([180, 'Ringing']);
    expect(res.headers.map((h) => h.name)).toEqual(['via', 'via', 'from', 'to', 'call-id', 'cseq']);
    expect(res.via.map((v) => v.branch)).toEqual(['z9hG4bK1', 'z9hG4bK0', 'z9hG4bKz']);
    expect(res.via[1]!.received).toBe('192.0.2.7');
    expect(res.to.tag).toBe('b0b');
    expect(res.from.tag).toBe('9fxced76sl');
    expect(res.callId).toBe(req.callId);
    expect(res.cseq).toEqual({ seq: 1, method: 'INVITE' });
    expect(req.to.tag).toBeUndefined();
    const again = parseMessage(serializeMessage(res));
    expect(again.isRequest()).toBe(false);
    expect(again.to.tag).toBe('b0b');
  });

  it('keeps an existing To tag; 100 Trying copies Timestamp (§8.2.6.1)', () => {
    const req = parseMessage(INVITE) as SipRequest;
    const ok = createResponse(createResponse(req, 200, 'OK', { toTag: 'one' }) as never, 200, 'OK', {
      toTag: 'two',
    });
    expect(ok.to.tag).toBe('one');
    const trying = createResponse(req, 100);
    expect(trying.get('timestamp')).toBe('54');
    expect(trying.to.tag).toBeUndefined();
    expect(createResponse(req, 180).has('timestamp')).toBe(false);
  });

  it('adds extra headers, a body and its Content-Type', () => {
    const req = parseMessage(INVITE) as SipRequest;
    const res = createResponse(req, 415, undefined, {
      headers: [
        ['Accept', 'application/sdp'],
        ['Unsupported', 'foo'],
      ],
      body: Buffer.from('v=0\r\n'),
      contentType: 'application/sdp',
    });
    expect(res.reason).toBe('Unsupported Media Type');
    expect(res.get('accept')).toBe('application/sdp');
    expect(res.get('content-type')).toBe('application/sdp');
    expect(serializeMessage(res).toString()).toMatch(/\r\nContent-Length: 5\r\n\r\nv=0\r\n$/);
  });

  it('builds a 400 from the partial message of a refused request', () => {
    const res = createResponse(partialOf('insuf.dat'), 400, undefined, { toTag: 'x' });
    expect(res.headers.map((h) => h.name)).toEqual(['cseq', 'via']);
    const quot = createResponse(partialOf('quotbal.dat'), 400, undefined, { toTag: 'x' });
    expect(quot.get('to')).toBe('"Mr. J. User <sip:j.user@example.com>;tag=x');
    const ver = createResponse(partialOf('badvers.dat'), 505);
    expect(ver.reason).toBe('Version Not Supported');
    expect(serializeMessage(ver).toString()).toMatch(/^SIP\/2\.0 505 Version Not Supported\r\nVia:/);
  });
});

describe('reasonPhrase', () => {
  it.each([
    [416, 'Unsupported URI Scheme'],
    [420, 'Bad Extension'],
    [422, 'Session Interval Too Small'],
    [428, 'Use Identity Header'],
    [436, 'Bad Identity Info'],
    [437, 'Unsupported Credential'],
    [438, 'Invalid Identity Header'],
    [483, 'Too Many Hops'],
    [487, 'Request Terminated'],
    [481, 'Call/Transaction Does Not Exist'],
    [491, 'Request Pending'],
    [501, 'Not Implemented'],
    [505, 'Version Not Supported'],
    [406, 'Not Acceptable'],
    [415, 'Unsupported Media Type'],
    [608, 'Rejected'],
    [299, 'Success'],
    [499, 'Client Error'],
  ])('%i -> %s', (status, phrase) => {
    expect(reasonPhrase(status)).toBe(phrase);
  });
});

describe('identifiers', () => {
  it('tags, branches and Call-IDs are tokens, unique, with enough randomness', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const tag = generateTag();
      const branch = generateBranch();
      const callId = generateCallId();
      expect(tag).toMatch(/^[0-9a-f]{16}$/);
      expect(branch).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
      expect(callId).toMatch(/^[0-9a-f]{32}$/);
      for (const v of [tag, branch, callId]) {
        expect(seen.has(v)).toBe(false);
        seen.add(v);
      }
    }
    expect(generateCallId('sbc.example.net')).toMatch(/^[0-9a-f]{32}@sbc\.example\.net$/);
  });
});

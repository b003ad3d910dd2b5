import { describe, expect, it } from 'vitest';
import { validateRequest } from '../../../src/b2bua/request-validation.js';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';

function req(
  method: string,
  extra: string[] = [],
  opts: { uri?: string; body?: string; mf?: string } = {},
): SipRequest {
  const body = opts.body ?? '';
  const text = [
    `${method} ${opts.uri ?? 'sip:+12025550199@127.0.0.1'} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1',
    `Max-Forwards: ${opts.mf ?? '70'}`,
    'From: <sip:a@x>;tag=1',
    'To: <sip:b@y>',
    'Call-ID: c1',
    `CSeq: 1 ${method}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  return parseMessage(Buffer.from(text)) as SipRequest;
}

describe('request validation (RFC 3261 §8.2, §16.3)', () => {
  it('accepts a plain INVITE with SDP', () => {
    expect(
      validateRequest(req('INVITE', ['Content-Type: application/sdp'], { body: 'v=0\r\n' }), false),
    ).toBeUndefined();
  });
  it('405 with Allow for a known method we do not handle, 501 for an unknown one', () => {
    expect(validateRequest(req('REGISTER'), false)).toMatchObject({
      status: 405,
      headers: [['Allow', expect.stringContaining('INVITE')]],
    });
    expect(validateRequest(req('FOO'), false)?.status).toBe(501);
  });
  it('416 for a Request-URI scheme other than sip, sips, tel', () => {
    expect(validateRequest(req('INVITE', [], { uri: 'soap.beep://x' }), false)?.status).toBe(416);
    expect(validateRequest(req('INVITE', [], { uri: 'tel:+12025550199' }), false)).toBeUndefined();
  });
  it('483 for Max-Forwards 0, except OPTIONS which we answer ourselves', () => {
    expect(validateRequest(req('INVITE', [], { mf: '0' }), false)?.status).toBe(483);
    expect(validateRequest(req('OPTIONS', [], { mf: '0' }), false)).toBeUndefined();
  });
  it('420 listing every unknown Require / Proxy-Require tag; 100rel and timer are fine', () => {
    const r = validateRequest(req('INVITE', ['Require: 100rel, foo', 'Proxy-Require: bar, foo']), false);
    expect(r).toEqual({ status: 420, headers: [['Unsupported', 'foo, bar']] });
    expect(validateRequest(req('INVITE', ['Require: 100rel, timer']), false)).toBeUndefined();
  });
  it('415 with Accept for an INVITE body type we do not relay; 406 when Accept excludes SDP', () => {
    expect(
      validateRequest(req('INVITE', ['Content-Type: application/unknownformat'], { body: 'x' }), false)
        ?.status,
    ).toBe(415);
    expect(validateRequest(req('INVITE', ['Accept: text/nobodyknowsthis']), false)?.status).toBe(406);
    expect(validateRequest(req('INVITE', ['Accept: application/*']), false)).toBeUndefined();
  });
  it('400 for an INVITE or UPDATE whose Contact does not parse (RFC 3261 §8.1.1.8, §12.2.2), not a 500', () => {
    for (const bad of ['Contact: <sip:a@127.0.0.2', 'Contact: "open quote <sip:a@b>', 'Contact: <>']) {
      expect(validateRequest(req('INVITE', [bad]), false), bad).toEqual({ status: 400 });
      expect(validateRequest(req('UPDATE', [bad]), true), bad).toEqual({ status: 400 });
    }
    expect(validateRequest(req('INVITE', ['Contact: <sip:a@127.0.0.2:5070>']), false)).toBeUndefined();
    // BYE does not refresh the target: its Contact is never read.
    expect(validateRequest(req('BYE', ['Contact: <sip:a@127.0.0.2']), true)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../../src/sip/message/message.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';
import { optionsResponse } from '../../../../src/sip/transaction/options-response.js';
import { inRequest } from './helpers.js';

describe('optionsResponse (RFC 3261 §11.2)', () => {
  it('lists capabilities on a tagged 200 without body', () => {
    const req = parseMessage(Buffer.from(inRequest('OPTIONS'))) as SipRequest;
    const res = optionsResponse(req, {
      allow: ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS'],
      supported: ['timer'],
    });
    expect(res.status).toBe(200);
    expect(res.get('allow')).toBe('INVITE');
    expect(res.getAll('allow')).toEqual(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS']);
    expect(res.get('accept')).toBe('application/sdp');
    expect(res.get('supported')).toBe('timer');
    expect(res.has('accept-encoding')).toBe(false);
    expect(res.to.tag).toBeDefined();
    expect(res.cseq.method).toBe('OPTIONS');
    expect(res.body.length).toBe(0);
  });

  it('can answer with another status (e.g. 503 while draining)', () => {
    const req = parseMessage(Buffer.from(inRequest('OPTIONS'))) as SipRequest;
    expect(optionsResponse(req, { allow: ['OPTIONS'] }, 503).status).toBe(503);
  });
});

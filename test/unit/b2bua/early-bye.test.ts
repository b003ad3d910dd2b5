import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { type B2buaHarness, createB2buaHarness, LOCAL, T1 } from '../../support/b2bua-harness.js';
import { callerInvite, inDialogRequest, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

describe('a BYE from the caller on the early dialog (RFC 3261 §15.1.2)', () => {
  it('200 to the BYE, 487 to the INVITE, and the B-leg INVITE is CANCELled with the BYE Reason', async () => {
    h = createB2buaHarness();
    const hop = h.hops[0]!;
    const text = callerInvite({ caller: h.caller.endpoint, to: LOCAL });
    const invite = parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
    h.caller.send(text);
    await h.advance(0);
    const bInvite = hop.request('INVITE');
    hop.send(responseTo(bInvite, 180, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    const ringing = h.caller.response(180);

    h.caller.send(
      inDialogRequest('BYE', invite, ringing, {
        seq: 2,
        branch: 'z9hG4bKearlybye',
        headers: ['Reason: Q.850;cause=16'],
      }),
    );
    await h.advance(0);
    expect(h.caller.trace()).toEqual(['100/INVITE', '180/INVITE', '200/BYE', '487/INVITE']);
    const cancel = hop.request('CANCEL');
    expect(cancel.get('reason')).toBe('Q.850;cause=16');
    expect(hop.requests('BYE')).toHaveLength(0);
    hop.send(responseTo(cancel, 200));
    hop.send(responseTo(bInvite, 487, { toTag: 'callee' }));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  });
});

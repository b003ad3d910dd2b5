import { afterEach, describe, expect, it } from 'vitest';
import { type SipRequest, SipResponse } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { type B2buaHarness, createB2buaHarness, LOCAL, T1 } from '../../support/b2bua-harness.js';
import { callerInvite, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

describe('a 2xx the caller never ACKs (RFC 3261 §13.3.1.4)', () => {
  it('retransmits the 2xx at T1, 2*T1, ... capped at T2, and at 64*T1 sends BYE on both legs; nothing is left', async () => {
    h = createB2buaHarness();
    const { caller } = h;
    const hop = h.hops[0]!;
    const inviteText = callerInvite({ caller: caller.endpoint, to: LOCAL });
    const invite = parseMessage(Buffer.from(inviteText, 'latin1')) as SipRequest;
    caller.send(inviteText);
    await h.advance(0);
    const bInvite = hop.request('INVITE');
    hop.send(responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    expect(caller.trace()).toEqual(['100/INVITE', '200/INVITE']);

    // Up to just before 64*T1: only 2xx retransmissions reach the caller, nothing reaches the callee.
    await h.advance(64 * T1 - 1);
    const oks = caller.sent().filter((s) => s.message instanceof SipResponse && s.message.status === 200);
    // Intervals T1, 2*T1, 4*T1, then T2 (500, 1000, 2000, 4000, 4000, ... ms), the same bytes each time.
    expect(oks.map((s) => s.at)).toEqual([
      0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]);
    expect(new Set(oks.map((s) => s.wire?.toString('latin1'))).size).toBe(1);
    expect(caller.requests('BYE')).toHaveLength(0);
    expect(hop.trace()).toEqual(['INVITE']);
    expect(h.stats().calls).toBe(1);

    // 64*T1: the session is over on both legs; the callee's 200 is ACKed before its BYE.
    await h.advance(1);
    const aBye = caller.request('BYE');
    expect(hop.trace()).toEqual(['INVITE', 'ACK', 'BYE']);
    const bBye = hop.request('BYE');
    expect(aBye.callId).toBe(invite.callId);
    expect(aBye.to.tag).toBe(invite.from.tag); // our BYE's To is the caller (RFC 3261 §12.2.1.1)
    expect(aBye.uri).toBe(`sip:caller@${caller.endpoint.address}:${caller.endpoint.port}`);
    expect(bBye.callId).toBe(bInvite.callId);
    expect(bBye.to.tag).toBe('callee');

    caller.send(responseTo(aBye, 200));
    hop.send(responseTo(bBye, 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(h.stats().dialogs).toBe(0);
    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  });
});

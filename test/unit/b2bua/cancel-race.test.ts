import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { type B2buaHarness, createB2buaHarness, LOCAL, T1 } from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, cancelOf, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

describe('CANCEL crossing the callee 200 (RFC 3261 §9.1, §9.2, §15)', () => {
  it('the caller gets 200 for its CANCEL and 487 for its INVITE; the answered B-leg is ACKed, then BYEd; nothing is left', async () => {
    h = createB2buaHarness();
    const { caller } = h;
    const hop = h.hops[0]!;
    const inviteText = callerInvite({ caller: caller.endpoint, to: LOCAL });
    const invite = parseMessage(Buffer.from(inviteText, 'latin1')) as SipRequest;
    caller.send(inviteText);
    await h.advance(0);
    const bInvite = hop.request('INVITE');

    hop.send(responseTo(bInvite, 180, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    expect(caller.trace()).toEqual(['100/INVITE', '180/INVITE']);

    // The caller gives up; the callee's 200 is already on its way (injected before the B-leg CANCEL arrives).
    caller.send(cancelOf(invite));
    const ok = responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint });
    hop.send(ok);
    await h.advance(0);

    expect(caller.response(200, 'CANCEL')).toBeDefined();
    const final = caller.response(487);
    expect(caller.responses().filter((r) => r.cseq.method === 'INVITE' && r.status >= 200)).toHaveLength(1);
    caller.send(ackOf(invite, final));

    // The B-leg: CANCEL (sent on the caller's CANCEL), then ACK of the 200 and BYE in the 200's dialog.
    expect(hop.trace()).toEqual(['INVITE', 'CANCEL', 'ACK', 'BYE']);
    const ack = hop.request('ACK');
    const bye = hop.request('BYE');
    expect(ack.cseq).toEqual({ seq: bInvite.cseq.seq, method: 'ACK' });
    expect(ack.to.tag).toBe('callee');
    expect(ack.uri).toBe(`sip:peer@${hop.endpoint.address}:${hop.endpoint.port}`);
    expect(bye.callId).toBe(bInvite.callId);
    expect(bye.to.tag).toBe('callee');
    expect(bye.cseq.seq).toBeGreaterThan(bInvite.cseq.seq);

    // The callee answers the CANCEL (its INVITE already answered: no effect, §9.2) and the BYE.
    hop.send(responseTo(hop.request('CANCEL'), 200));
    hop.send(responseTo(bye, 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(h.stats().dialogs).toBe(0);

    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
    // Nothing more went to the caller: no 200 to its INVITE, no BYE on a dialog it never had.
    expect(caller.trace()).toEqual(['100/INVITE', '180/INVITE', '200/CANCEL', '487/INVITE']);
  });
});

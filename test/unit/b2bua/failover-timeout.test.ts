import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { type B2buaHarness, createB2buaHarness, LOCAL, T1 } from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, inDialogRequest, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

describe('failover when a next hop never answers (RFC 3261 §17.1.1.2 Timer B; docs/config.md failover_on)', () => {
  it('hop 2 gets the INVITE at 64*T1 and the call completes there', async () => {
    h = createB2buaHarness({ hops: 2, failoverOn: [503] });
    const { caller } = h;
    const [hop1, hop2] = h.hops as [(typeof h.hops)[0], (typeof h.hops)[0]];
    const inviteText = callerInvite({ caller: caller.endpoint, to: LOCAL });
    const invite = parseMessage(Buffer.from(inviteText, 'latin1')) as SipRequest;
    caller.send(inviteText);
    await h.advance(0);
    const first = hop1.request('INVITE');

    await h.advance(64 * T1 - 1);
    expect(hop2.received()).toHaveLength(0);
    // Timer A: the same INVITE again after T1, 2*T1, 4*T1, ... (doubling, no T2 cap for INVITE: RFC 3261
    // §17.1.1.2), nothing else.
    const resent = hop1.sent();
    expect(resent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(new Set(resent.map((s) => s.wire?.toString('latin1'))).size).toBe(1);

    await h.advance(1);
    const [sent2] = hop2.sent();
    expect(sent2?.at).toBe(64 * T1);
    const second = hop2.request('INVITE');
    expect(second.callId).not.toBe(first.callId);
    expect(second.uri).toBe(`sip:+12025550101@${hop2.endpoint.address}:${hop2.endpoint.port};user=phone`);
    expect(hop1.trace()).toEqual(Array(7).fill('INVITE'));
    expect(caller.trace()).toEqual(['100/INVITE']);

    hop2.send(responseTo(second, 180, { toTag: 'hop2', contact: hop2.endpoint }));
    hop2.send(responseTo(second, 200, { toTag: 'hop2', contact: hop2.endpoint }));
    await h.advance(0);
    expect(caller.trace()).toEqual(['100/INVITE', '180/INVITE', '200/INVITE']);
    const ok = caller.response(200);
    caller.send(ackOf(invite, ok));
    await h.advance(0);
    expect(hop2.trace()).toEqual(['INVITE', 'ACK']);
    expect(h.stats()).toMatchObject({ calls: 1, dialogs: 2 });

    // The caller hangs up: the BYE crosses to hop 2, whose 200 comes back.
    caller.send(inDialogRequest('BYE', invite, ok, { seq: invite.cseq.seq + 1, branch: 'z9hG4bKcallerbye' }));
    await h.advance(0);
    hop2.send(responseTo(hop2.request('BYE'), 200));
    await h.advance(0);
    expect(caller.response(200, 'BYE')).toBeDefined();
    expect(hop1.trace()).not.toContain('BYE');
    expect(hop1.trace()).not.toContain('CANCEL');

    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  });
});

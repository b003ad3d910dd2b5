import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import type { ConnectionClosed } from '../../../src/sip/transport/index.js';
import type { Flow } from '../../../src/sip/transport/types.js';
import { type B2buaHarness, CALLER, createB2buaHarness, LOCAL, T1 } from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, inDialogRequest, responseTo } from '../../support/peer-messages.js';
import { recordEnds } from './reaped-calls.js';

let h: B2buaHarness | undefined;
let ends: ReturnType<typeof recordEnds> | undefined;
afterEach(() => {
  h?.close();
  ends?.stop();
});

const CONN = 7;
const TCP_FLOW: Flow = { protocol: 'tcp', local: LOCAL, remote: CALLER, connectionId: CONN };

/** The caller's INVITE over TCP connection CONN; returns it parsed. */
function inviteOverTcp(harness: B2buaHarness): SipRequest {
  const text = callerInvite({ caller: CALLER, to: LOCAL });
  harness.transport.deliver(text, TCP_FLOW);
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

function closed(reason: ConnectionClosed['reason']): ConnectionClosed {
  return { connectionId: CONN, reason };
}

describe('the A-leg TCP connection is lost (src/b2bua/call-reaper.ts)', () => {
  it('before the answer: the ringing B-leg is CANCELled with a Reason (RFC 3261 §9.1) and the call forgotten', async () => {
    h = createB2buaHarness();
    ends = recordEnds();
    const hop = h.hops[0]!;
    inviteOverTcp(h);
    await h.advance(0);
    const bInvite = hop.request('INVITE');
    hop.send(responseTo(bInvite, 180, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    expect(h.stats().calls).toBe(1);

    h.b2bua.connectionClosed(closed('peer'));
    await h.advance(0);
    const cancel = hop.request('CANCEL');
    expect(cancel.get('reason')).toBe('Q.850;cause=41;text="connection lost"');
    hop.send(responseTo(cancel, 200));
    hop.send(responseTo(bInvite, 487, { toTag: 'callee' }));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['connection_lost']);
    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  });

  it('after the answer: BYE to the B-leg only, with a Reason, and the call ends on its 200', async () => {
    h = createB2buaHarness();
    ends = recordEnds();
    const hop = h.hops[0]!;
    const invite = inviteOverTcp(h);
    await h.advance(0);
    const bInvite = hop.request('INVITE');
    hop.send(responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    const ok = h.caller.response(200);
    h.transport.deliver(ackOf(invite, ok), TCP_FLOW);
    await h.advance(0);
    expect(hop.trace()).toEqual(['INVITE', 'ACK']);

    h.b2bua.connectionClosed(closed('error'));
    await h.advance(0);
    const bye = hop.request('BYE');
    expect(bye.get('reason')).toBe('Q.850;cause=41;text="connection lost"');
    expect(h.caller.requests('BYE')).toHaveLength(0);
    hop.send(responseTo(bye, 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['connection_lost']);
  });

  it('a connection we closed ourselves (idle, local) ends no call: the dialog may go on over a new one', async () => {
    h = createB2buaHarness();
    const hop = h.hops[0]!;
    const invite = inviteOverTcp(h);
    await h.advance(0);
    const bInvite = hop.request('INVITE');
    hop.send(responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    const ok = h.caller.response(200);
    h.transport.deliver(ackOf(invite, ok), TCP_FLOW);
    await h.advance(0);

    h.b2bua.connectionClosed(closed('idle'));
    await h.advance(0);
    expect(hop.requests('BYE')).toHaveLength(0);
    expect(h.stats().calls).toBe(1);
    // The caller's BYE on a new connection still ends it.
    h.transport.deliver(inDialogRequest('BYE', invite, ok, { seq: 2, branch: 'z9hG4bKbye1' }), {
      ...TCP_FLOW,
      connectionId: CONN + 1,
    });
    await h.advance(0);
    hop.send(responseTo(hop.request('BYE'), 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
  });

  it('250 callers (max_calls 100) whose connections close after the INVITE: every call ends, a new call gets through', async () => {
    h = createB2buaHarness();
    const hop = h.hops[0]!;
    for (let i = 0; i < 250; i++) {
      const flow: Flow = { ...TCP_FLOW, connectionId: 1000 + i };
      h.transport.deliver(callerInvite({ caller: CALLER, to: LOCAL }), flow);
    }
    await h.advance(0);
    const invites = hop.requests('INVITE');
    // The harness's max_calls is 100: the other 150 get 503 at once.
    expect(invites).toHaveLength(100);
    expect(h.caller.responses(503)).toHaveLength(150);
    for (const inv of invites) hop.send(responseTo(inv, 180, { toTag: `t${inv.cseq.seq}` }));
    await h.advance(0);
    for (let i = 0; i < 250; i++) h.b2bua.connectionClosed({ connectionId: 1000 + i, reason: 'peer' });
    await h.advance(0);
    const cancels = hop.requests('CANCEL');
    expect(cancels).toHaveLength(100);
    for (const c of cancels) hop.send(responseTo(c, 200));
    for (const inv of invites) hop.send(responseTo(inv, 487, { toTag: `t${inv.cseq.seq}` }));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);

    h.caller.send(callerInvite({ caller: CALLER, to: LOCAL }));
    await h.advance(0);
    const last = hop.requests('INVITE')[100]!;
    hop.send(responseTo(last, 200, { toTag: 'last', contact: hop.endpoint }));
    await h.advance(0);
    expect((h.caller.responses(200)[0] as SipResponse).status).toBe(200);
  });
});

describe('the B-leg TCP connection is lost (src/b2bua/call-reaper.ts)', () => {
  /** The fake transport's id for every TCP connection (test/support/fake-transport.ts). */
  const B_CONN = 99;

  it('after the answer: BYE to the caller with a Reason, and the call ends on its 200', async () => {
    h = createB2buaHarness({ hopTransport: 'tcp' });
    ends = recordEnds();
    const hop = h.hops[0]!;
    const text = callerInvite({ caller: CALLER, to: LOCAL });
    const invite = parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
    h.caller.send(text);
    await h.advance(0);
    hop.send(responseTo(hop.request('INVITE'), 200, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    const ok = h.caller.response(200);
    h.caller.send(ackOf(invite, ok));
    await h.advance(0);

    h.b2bua.connectionClosed({ connectionId: B_CONN, reason: 'peer' });
    await h.advance(0);
    const bye = h.caller.request('BYE');
    expect(bye.get('reason')).toBe('Q.850;cause=41;text="connection lost"');
    expect(hop.requests('BYE')).toHaveLength(0);
    h.caller.send(responseTo(bye, 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['connection_lost']);
  });

  it('before the answer: the hop has failed (CANCELled, in case it still rings), and the caller gets 503', async () => {
    h = createB2buaHarness({ hopTransport: 'tcp' });
    ends = recordEnds();
    const hop = h.hops[0]!;
    h.caller.send(callerInvite({ caller: CALLER, to: LOCAL }));
    await h.advance(0);
    hop.send(responseTo(hop.request('INVITE'), 180, { toTag: 'callee' }));
    await h.advance(0);
    h.b2bua.connectionClosed({ connectionId: B_CONN, reason: 'error' });
    await h.advance(0);
    expect(h.caller.trace()).toEqual(['100/INVITE', '180/INVITE', '503/INVITE']);
    expect(hop.request('CANCEL').get('reason')).toBe('Q.850;cause=41;text="connection lost"');
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['failed']);
  });
});

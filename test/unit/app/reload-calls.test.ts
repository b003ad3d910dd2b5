import { afterEach, describe, expect, it } from 'vitest';
import type { CallRouting } from '../../../src/b2bua/call-setup.js';
import { PASS_ALL } from '../../../src/b2bua/header-rules.js';
import { Router, type TrunkRuntime } from '../../../src/b2bua/router.js';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';
import {
  type B2buaHarness,
  CALLER,
  createB2buaHarness,
  LOCAL,
  Peer,
  T1,
} from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, inDialogRequest, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

const NEW_HOP: Endpoint = Object.freeze({ address: '127.0.0.41', port: 5080 });

/** What a reload hands the B2BUA: the caller's traffic now on trunk `renamed`, routed to NEW_HOP only. */
function reloadedRouting(o: { trunk?: boolean; maxCalls?: number } = {}): CallRouting {
  const trunk: TrunkRuntime = {
    name: 'renamed',
    role: 'passthrough',
    route: {
      name: 'new-route',
      hops: [{ ...NEW_HOP, protocol: 'udp', target: { protocol: 'udp', remote: NEW_HOP } }],
      failoverOn: new Set([503]),
      inviteTimeoutMs: undefined,
    },
    countryCode: '1',
    headerRules: PASS_ALL,
    gateway: false,
    identityIn: 'keep',
    verification: undefined,
    trustBoundary: undefined,
    customer: undefined,
    matchSource: (ip) => ip === CALLER.address,
    matchPort: undefined,
    matchTransport: undefined,
  };
  return {
    router: new Router(o.trunk === false ? [] : [trunk]),
    hooks: {},
    unmatched: { action: 'reject', status: 403 },
    maxCalls: o.maxCalls ?? 100,
  };
}

function newCall(harness: B2buaHarness): SipRequest {
  const text = callerInvite({ caller: harness.caller.endpoint, to: LOCAL });
  harness.caller.send(text);
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

describe('a reload swaps the routing for new calls only (B2bua.reconfigure)', () => {
  it('an established call keeps its trunk and route: its BYE reaches the old next hop; the next call takes the new route', async () => {
    h = createB2buaHarness({ hops: 2 });
    const [hop1, hop2] = h.hops as [Peer, Peer];
    const newHop = new Peer('new hop', NEW_HOP, h.transport);
    const invite = newCall(h);
    await h.advance(0);
    hop1.send(responseTo(hop1.request('INVITE'), 200, { toTag: 'hop1', contact: hop1.endpoint }));
    await h.advance(0);
    const ok = h.caller.response(200);
    h.caller.send(ackOf(invite, ok));
    await h.advance(0);
    expect(hop1.trace()).toEqual(['INVITE', 'ACK']);

    // The reload removes the trunk and route the call was set up on.
    h.b2bua.reconfigure(reloadedRouting());

    h.caller.send(inDialogRequest('BYE', invite, ok, { seq: invite.cseq.seq + 1, branch: 'z9hG4bKbye' }));
    await h.advance(0);
    expect(hop1.trace()).toEqual(['INVITE', 'ACK', 'BYE']);
    hop1.send(responseTo(hop1.request('BYE'), 200));
    await h.advance(0);
    expect(h.caller.response(200, 'BYE')).toBeDefined();

    newCall(h);
    await h.advance(0);
    expect(newHop.trace()).toEqual(['INVITE']);
    expect(hop1.requests('INVITE')).toHaveLength(1);
    expect(hop2.received()).toHaveLength(0);
  });

  it('a call being set up fails over to the next hop of the route it started with, not the new route', async () => {
    h = createB2buaHarness({ hops: 2, failoverOn: [503] });
    const [hop1, hop2] = h.hops as [Peer, Peer];
    const newHop = new Peer('new hop', NEW_HOP, h.transport);
    newCall(h);
    await h.advance(0);
    const first = hop1.request('INVITE');

    h.b2bua.reconfigure(reloadedRouting());
    hop1.send(responseTo(first, 503, { toTag: 'hop1' }));
    await h.advance(0);
    expect(hop2.trace()).toEqual(['INVITE']);
    expect(newHop.received()).toHaveLength(0);

    hop2.send(responseTo(hop2.request('INVITE'), 486, { toTag: 'hop2' }));
    await h.advance(0);
    expect(h.caller.responses(486)).toHaveLength(1);
    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  });

  it('a trunk removed by the reload refuses the next INVITE with the new unmatched policy; the new call limit holds', async () => {
    h = createB2buaHarness({ hops: 1 });
    newCall(h);
    await h.advance(0);
    expect(h.stats().calls).toBe(1);

    h.b2bua.reconfigure(reloadedRouting({ trunk: false }));
    newCall(h);
    await h.advance(0);
    expect(h.caller.responses(403)).toHaveLength(1);

    h.b2bua.reconfigure(reloadedRouting({ maxCalls: 1 }));
    newCall(h);
    await h.advance(0);
    expect(h.caller.responses(503)).toHaveLength(1);
    expect(h.stats().calls).toBe(1);
  });
});

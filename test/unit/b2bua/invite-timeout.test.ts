import { afterEach, describe, expect, it } from 'vitest';
import { type B2buaHarness, createB2buaHarness, LOCAL, T1 } from '../../support/b2bua-harness.js';
import { callerInvite, responseTo } from '../../support/peer-messages.js';
import { recordEnds } from './reaped-calls.js';

let h: B2buaHarness | undefined;
let ends: ReturnType<typeof recordEnds> | undefined;
afterEach(() => {
  h?.close();
  ends?.stop();
});

/** The transaction layer's Timer C default (src/sip/transaction/timers.ts; `sip.timers.timer_c_s`). */
const TIMER_C = 185_000;

describe('a callee that rings and then says nothing (RFC 3261 §16.6 step 11 Timer C, §16.8)', () => {
  it('without invite_timeout_s: CANCEL at Timer C, and the 487 reaches the caller as 408; nothing is left', async () => {
    h = createB2buaHarness();
    ends = recordEnds();
    const hop = h.hops[0]!;
    h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL }));
    await h.advance(0);
    const bInvite = hop.request('INVITE');
    hop.send(responseTo(bInvite, 180, { toTag: 'callee' }));
    await h.advance(TIMER_C - 1);
    expect(hop.requests('CANCEL')).toHaveLength(0);
    await h.advance(1);
    const cancel = hop.request('CANCEL');
    hop.send(responseTo(cancel, 200));
    hop.send(responseTo(bInvite, 487, { toTag: 'callee' }));
    await h.advance(0);
    expect(h.caller.trace()).toEqual(['100/INVITE', '180/INVITE', '408/INVITE']);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['unanswered']);
    await h.advance(64 * T1 + 1);
    expect(h.stats()).toEqual({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  });

  it('a callee that answers neither the INVITE nor our CANCEL: 408 to the caller 64*T1 after the CANCEL', async () => {
    h = createB2buaHarness();
    ends = recordEnds();
    const hop = h.hops[0]!;
    h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL }));
    await h.advance(0);
    hop.send(responseTo(hop.request('INVITE'), 180, { toTag: 'callee' }));
    await h.advance(TIMER_C + 64 * T1);
    expect(h.caller.trace()).toEqual(['100/INVITE', '180/INVITE', '408/INVITE']);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['unanswered']);
  });

  it('with invite_timeout_s: CANCEL when it expires; with failover_on 408 the next hop gets the call', async () => {
    h = createB2buaHarness({ hops: 2, failoverOn: [408], inviteTimeoutMs: 8000 });
    const [hop1, hop2] = h.hops as [(typeof h.hops)[0], (typeof h.hops)[0]];
    h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL }));
    await h.advance(0);
    const first = hop1.request('INVITE');
    hop1.send(responseTo(first, 180, { toTag: 'one' }));
    await h.advance(8000);
    const cancel = hop1.request('CANCEL');
    hop1.send(responseTo(cancel, 200));
    hop1.send(responseTo(first, 487, { toTag: 'one' }));
    await h.advance(0);
    const second = hop2.request('INVITE');
    hop2.send(responseTo(second, 486, { toTag: 'two' }));
    await h.advance(0);
    expect(h.caller.trace()).toEqual(['100/INVITE', '180/INVITE', '486/INVITE']);
    expect(h.stats().calls).toBe(0);
  });

  it('with invite_timeout_s and no provisional: the hop has failed at once, 408 to the caller', async () => {
    h = createB2buaHarness({ inviteTimeoutMs: 4000 });
    ends = recordEnds();
    h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL }));
    await h.advance(4000);
    expect(h.caller.trace()).toEqual(['100/INVITE', '408/INVITE']);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['failed']);
  });
});

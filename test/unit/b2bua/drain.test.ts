import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { type B2buaHarness, createB2buaHarness, LOCAL } from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

function options(n: number): string {
  const c = h!.caller.endpoint;
  return [
    `OPTIONS sip:${LOCAL.address}:${LOCAL.port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${c.address}:${c.port};branch=z9hG4bKopt${n}`,
    'Max-Forwards: 70',
    `From: <sip:probe@${c.address}>;tag=opt${n}`,
    `To: <sip:${LOCAL.address}>`,
    `Call-ID: opt-${n}@${c.address}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('drain (src/app/drain.ts): the B2BUA side', () => {
  it('refuses new INVITEs and OPTIONS with 503 + Retry-After; calls go on; at the deadline BYEs both legs of the established call and cancels the ringing one', async () => {
    h = createB2buaHarness();
    const { caller } = h;
    const hop = h.hops[0]!;
    // An established call (answered and ACKed) ...
    const first = callerInvite({ caller: caller.endpoint, to: LOCAL });
    caller.send(first);
    await h.advance(0);
    const bInvite1 = hop.requests('INVITE')[0]!;
    hop.send(responseTo(bInvite1, 200, { toTag: 'callee1', contact: hop.endpoint }));
    await h.advance(0);
    const aInvite1 = parseMessage(Buffer.from(first, 'latin1')) as SipRequest;
    caller.send(ackOf(aInvite1, caller.response(200)));
    await h.advance(0);
    // ... and one still ringing.
    caller.send(callerInvite({ caller: caller.endpoint, to: LOCAL }));
    await h.advance(0);
    const bInvite2 = hop.requests('INVITE')[1]!;
    hop.send(responseTo(bInvite2, 180, { toTag: 'callee2', contact: hop.endpoint }));
    await h.advance(0);
    expect(h.stats().calls).toBe(2);

    h.b2bua.startDrain(5);
    expect(h.b2bua.shedInvite(aInvite1, { protocol: 'udp', local: LOCAL, remote: caller.endpoint })).toBe(
      undefined,
    );
    caller.send(callerInvite({ caller: caller.endpoint, to: LOCAL }));
    caller.send(options(1));
    await h.advance(0);
    const refused = caller.responses(503);
    expect(refused.map((r) => `${r.cseq.method} ${r.get('retry-after')}`)).toEqual(['INVITE 5', 'OPTIONS 5']);
    expect(hop.requests('INVITE')).toHaveLength(2); // the refused INVITE went nowhere
    expect(h.stats().calls).toBe(2);

    expect(h.b2bua.hangUpAll()).toBe(2);
    await h.advance(0);
    expect(caller.requests('BYE')).toHaveLength(1);
    expect(hop.requests('BYE')).toHaveLength(1);
    expect(hop.requests('BYE')[0]!.callId).toBe(bInvite1.callId);
    expect(hop.requests('CANCEL')[0]!.callId).toBe(bInvite2.callId);
    expect(caller.responses(487)).toHaveLength(1);
  });
});

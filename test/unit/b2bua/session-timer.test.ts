import { afterEach, describe, expect, it } from 'vitest';
import type { SessionTimerConfig } from '../../../src/b2bua/session-timer.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { type B2buaHarness, createB2buaHarness, LOCAL, type Peer } from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, inDialogRequest, responseTo } from '../../support/peer-messages.js';
import { recordEnds } from './reaped-calls.js';

let h: B2buaHarness | undefined;
let ends: ReturnType<typeof recordEnds> | undefined;
afterEach(() => {
  h?.close();
  ends?.stop();
});

const TIMERS: SessionTimerConfig = { enabled: true, sessionExpiresS: 1800, minSeS: 90 };

/** Caller INVITE (extra headers), callee 200 (extra headers), caller ACK: an established call. */
async function establish(
  harness: B2buaHarness,
  aHeaders: readonly string[],
  bHeaders: readonly string[],
): Promise<{ invite: SipRequest; ok: SipResponse; bInvite: SipRequest; hop: Peer }> {
  const hop = harness.hops[0]!;
  const text = callerInvite({ caller: harness.caller.endpoint, to: LOCAL, headers: aHeaders });
  const invite = parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
  harness.caller.send(text);
  await harness.advance(0);
  const bInvite = hop.request('INVITE');
  hop.send(responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint, headers: bHeaders }));
  await harness.advance(0);
  const ok = harness.caller.response(200);
  harness.caller.send(ackOf(invite, ok));
  await harness.advance(0);
  return { invite, ok, bInvite, hop };
}

describe('RFC 4028 session timers, policed by the B2BUA (src/b2bua/session-timer.ts)', () => {
  it('422 with our Min-SE to a caller that supports timers and asks for less (§8.1, §9)', async () => {
    h = createB2buaHarness({ sessionTimers: TIMERS });
    h.caller.send(
      callerInvite({
        caller: h.caller.endpoint,
        to: LOCAL,
        headers: ['Supported: timer', 'Session-Expires: 60'],
      }),
    );
    await h.advance(0);
    const refused = h.caller.response(422);
    expect(refused.reason).toBe('Session Interval Too Small');
    expect(refused.get('min-se')).toBe('90');
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(0);
    expect(h.stats().calls).toBe(0);
  });

  it('a caller without timer support: its too small Session-Expires is raised on the B-leg (§8.1); none: ours is asked', async () => {
    h = createB2buaHarness({ sessionTimers: TIMERS });
    h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL, headers: ['Session-Expires: 60'] }));
    h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL }));
    await h.advance(0);
    const [raised, asked] = h.hops[0]!.requests('INVITE') as [SipRequest, SipRequest];
    expect(raised.get('session-expires')).toBe('90');
    expect(asked.get('session-expires')).toBe('1800');
    expect(asked.get('min-se')).toBe('90');
  });

  it('agreed by both ends: no refresh within the interval -> BYE both legs with a Reason', async () => {
    h = createB2buaHarness({ sessionTimers: TIMERS });
    ends = recordEnds();
    const { hop } = await establish(
      h,
      ['Supported: timer', 'Session-Expires: 120'],
      ['Require: timer', 'Session-Expires: 120;refresher=uac'],
    );
    expect(h.caller.response(200).get('session-expires')).toBe('120;refresher=uac');
    await h.advance(120_000 - 1);
    expect(hop.requests('BYE')).toHaveLength(0);
    await h.advance(1);
    const reason = 'Q.850;cause=102;text="session timer expired"';
    expect(h.caller.request('BYE').get('reason')).toBe(reason);
    expect(hop.request('BYE').get('reason')).toBe(reason);
    h.caller.send(responseTo(h.caller.request('BYE'), 200));
    hop.send(responseTo(hop.request('BYE'), 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['session_expired']);
  });

  it('each refresh (UPDATE answered 2xx, §10) starts the interval again', async () => {
    h = createB2buaHarness({ sessionTimers: TIMERS });
    const { invite, ok, hop } = await establish(
      h,
      ['Supported: timer', 'Session-Expires: 120'],
      ['Require: timer', 'Session-Expires: 120;refresher=uac'],
    );
    for (let i = 0; i < 3; i++) {
      await h.advance(60_000);
      h.caller.send(
        inDialogRequest('UPDATE', invite, ok, {
          seq: 2 + i,
          branch: `z9hG4bKupd${i}`,
          headers: ['Session-Expires: 120;refresher=uac', 'Supported: timer'],
        }),
      );
      await h.advance(0);
      const update = hop.requests('UPDATE')[i]!;
      hop.send(responseTo(update, 200, { headers: ['Session-Expires: 120;refresher=uac'] }));
      await h.advance(0);
    }
    await h.advance(119_000);
    expect(hop.requests('BYE')).toHaveLength(0);
    expect(h.stats().calls).toBe(1);
    await h.advance(1000);
    expect(hop.requests('BYE')).toHaveLength(1);
  });

  it('the callee does not support timers: we accept them toward the caller (§9, refresher=uac) and police', async () => {
    h = createB2buaHarness({ sessionTimers: TIMERS });
    const { hop } = await establish(h, ['Supported: timer', 'Session-Expires: 300'], []);
    const ok = h.caller.response(200);
    expect(ok.get('session-expires')).toBe('300;refresher=uac');
    expect(ok.get('require')).toBe('timer');
    await h.advance(300_000);
    expect(hop.requests('BYE')).toHaveLength(1);
  });

  it('neither end supports timers: none is policed (the maximum call duration is the bound)', async () => {
    h = createB2buaHarness({ sessionTimers: TIMERS, maxCallDurationMs: 3_600_000 });
    ends = recordEnds();
    const { hop } = await establish(h, [], []);
    expect(h.caller.response(200).get('session-expires')).toBeUndefined();
    await h.advance(3_600_000 - 1);
    expect(hop.requests('BYE')).toHaveLength(0);
    await h.advance(1);
    const reason = 'Q.850;cause=102;text="maximum call duration"';
    expect(h.caller.request('BYE').get('reason')).toBe(reason);
    expect(hop.request('BYE').get('reason')).toBe(reason);
    h.caller.send(responseTo(h.caller.request('BYE'), 200));
    hop.send(responseTo(hop.request('BYE'), 200));
    await h.advance(0);
    expect(h.stats().calls).toBe(0);
    expect(ends.causes).toEqual(['max_duration']);
  });
});

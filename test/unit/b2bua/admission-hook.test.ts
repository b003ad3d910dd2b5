import { afterEach, describe, expect, it } from 'vitest';
import type { InviteHook } from '../../../src/b2bua/invite-hooks.js';
import type { SipRequest } from '../../../src/sip/message/message.js';
import { type B2buaHarness, createB2buaHarness, LOCAL } from '../../support/b2bua-harness.js';
import { callerInvite, responseTo } from '../../support/peer-messages.js';
import { admissionSetup, block, controlsWith, recordTraceback } from './policy-hooks-support.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

function harness(hooks: InviteHook[]): B2buaHarness {
  const h = createB2buaHarness({ role: 'originating', customer: 'acme', hooks: { originating: hooks } });
  open.push(h);
  return h;
}

const FROM = '<sip:+12025550100@127.0.0.21;user=phone>';

async function call(h: B2buaHarness, o: { from?: string; called?: string } = {}): Promise<void> {
  h.caller.send(
    callerInvite({
      caller: h.caller.endpoint,
      to: LOCAL,
      from: o.from ?? FROM,
      called: o.called ?? '+13035550100',
    }),
  );
  await h.advance(0);
}

function lastFinal(h: B2buaHarness) {
  const finals = h.caller.responses().filter((r) => r.status >= 200 && r.cseq.method === 'INVITE');
  return finals[finals.length - 1];
}

describe('AdmissionHook on an originating trunk', () => {
  it('admits a call, holds a concurrent slot while it is set up and gives it back when it ends', async () => {
    const s = admissionSetup();
    const h = harness([s.hook]);
    await call(h);
    const bInvite = h.hops[0]!.request('INVITE');
    expect(s.counters.figures()[0]).toMatchObject({ customer: 'acme', concurrent: 1 });
    h.hops[0]!.send(responseTo(bInvite, 486, { toTag: 'callee' }));
    await h.advance(0);
    expect(lastFinal(h)?.status).toBe(486);
    expect(s.counters.figures()[0]?.concurrent).toBe(0);
  });

  it('a slot is given back when a later hook refuses the call', async () => {
    const s = admissionSetup();
    const refuse: InviteHook = {
      name: 'later',
      onInitialInvite: () => ({ action: 'reject', status: 488, cause: 'policy' }),
    };
    const h = harness([s.hook, refuse]);
    await call(h);
    expect(lastFinal(h)?.status).toBe(488);
    expect(s.counters.figures()[0]).toMatchObject({ concurrent: 0 });
  });

  it('a reject block: 403 with the reason, a traceback record naming the block, counted; removing it lets the next call through', async () => {
    const s = admissionSetup();
    const h = harness([s.hook]);
    const b = block('calling', '1202555*');
    s.controls.set(controlsWith(1, [b]));
    const tb = recordTraceback();
    try {
      await call(h);
    } finally {
      tb.stop();
    }
    const final = lastFinal(h)!;
    expect(final.status).toBe(403);
    expect(final.get('reason')).toBe('SIP;cause=403;text="blocked: robocalls \\"campaign\\""');
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(0);
    expect(tb.records.at(-1)?.refused).toEqual({ status: 403, cause: 'block', detail: `block:${b.id}` });
    expect(s.counters.figures()[0]).toMatchObject({ concurrent: 0, refusals: { block: 1 } });

    s.controls.set(controlsWith(2, []));
    await call(h);
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(1);
  });

  it('blocks by customer, origid and trunk match the call too; an expired block does not', async () => {
    for (const b of [
      block('customer', 'acme'),
      block('origid', '0b5c3f5e-1f6a-4f1e-9a56-3f2a1c0d9e88'),
      block('trunk', 'peer'),
      block('called', '13035550100'),
    ]) {
      const s = admissionSetup();
      const h = harness([s.hook]);
      s.controls.set(controlsWith(1, [b]));
      await call(h);
      expect(lastFinal(h)?.status, b.match.kind).toBe(403);
    }
    const s = admissionSetup();
    const h = harness([s.hook]);
    s.controls.set(controlsWith(1, [block('customer', 'acme', 'reject', { expires: s.clock.ms })]));
    await call(h);
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(1);
  });

  it('an emergency call goes through a block on its caller, past the DNO list and the limits', async () => {
    const s = admissionSetup({ cps: 1, burst: 1, maxConcurrent: 1 });
    const h = harness([s.hook]);
    s.controls.set(controlsWith(1, [block('calling', '18005550100')]));
    for (const called of ['911', '+1911', '933'])
      await call(h, { from: '<sip:+18005550100@127.0.0.21>', called });
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(3);
    await call(h, { from: '<sip:+18005550100@127.0.0.21>' });
    expect(lastFinal(h)?.status).toBe(403);
  });

  it('a DNO calling number: 403, detail dno:<entry>', async () => {
    const s = admissionSetup();
    const h = harness([s.hook]);
    const tb = recordTraceback();
    try {
      await call(h, { from: '<sip:+18885550123@127.0.0.21>' });
    } finally {
      tb.stop();
    }
    expect(lastFinal(h)?.status).toBe(403);
    expect(lastFinal(h)?.get('reason')).toContain('do-not-originate');
    expect(tb.records.at(-1)?.refused).toEqual({ status: 403, cause: 'dno', detail: 'dno:1888*' });
    expect(s.counters.figures()[0]?.refusals).toEqual({ dno: 1 });
  });

  it('a destination: a class the customer does not list, a denied prefix', async () => {
    const s = admissionSetup();
    const h = harness([s.hook]);
    const tb = recordTraceback();
    try {
      await call(h, { called: '+19005550100' });
      await call(h, { called: '+19765550100' });
    } finally {
      tb.stop();
    }
    expect(tb.records.map((r) => r.refused)).toEqual([
      { status: 403, cause: 'destination', detail: 'destination:high_risk' },
      { status: 403, cause: 'destination', detail: 'destination:1976*' },
    ]);
    expect(lastFinal(h)?.get('reason')).toBe('SIP;cause=403;text="destination not permitted: 1976*"');
  });

  it('limits: 503 with Retry-After for the rate (seconds to a token) and for concurrent calls', async () => {
    const s = admissionSetup({ cps: 1, burst: 2, maxConcurrent: 2 });
    const h = harness([s.hook]);
    await call(h);
    await call(h);
    await call(h); // two calls in progress
    let final = lastFinal(h)!;
    expect([final.status, final.get('retry-after')]).toEqual([503, '5']);
    s.controls.set(controlsWith(1, [], { acme: { maxConcurrent: 10 } }));
    await call(h); // the bucket is empty (burst 2, no time passed)
    final = lastFinal(h)!;
    expect([final.status, final.get('retry-after')]).toEqual([503, '1']);
    s.clock.ms += 1_000;
    await call(h);
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(3);
    expect(s.counters.figures()[0]?.refusals).toEqual({ concurrent: 1, cps: 1 });
  });

  it('a mark block lets the call through with the mark header', async () => {
    const s = admissionSetup();
    const h = harness([s.hook]);
    const b = block('customer', 'acme', 'mark');
    s.controls.set(controlsWith(1, [b]));
    await call(h);
    const out: SipRequest = h.hops[0]!.request('INVITE');
    expect(out.get('stirgate-mark')).toBe(`${b.id};match=customer`);
  });
});

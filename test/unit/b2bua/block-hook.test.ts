import { afterEach, describe, expect, it } from 'vitest';
import { BlockHook } from '../../../src/b2bua/block-hook.js';
import type { InviteHook } from '../../../src/b2bua/invite-hooks.js';
import { LiveBlockIndex } from '../../../src/b2bua/live-block-index.js';
import { type Controls, EMPTY_CONTROLS, LiveValue } from '../../../src/policy/controls.js';
import { type B2buaHarness, createB2buaHarness, LOCAL } from '../../support/b2bua-harness.js';
import { callerInvite } from '../../support/peer-messages.js';
import { block, controlsWith, EMERGENCY, recordTraceback } from './policy-hooks-support.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

const REDRESS = { url: 'https://redress.example.net/blocked', tel: '+18005550199', email: 'noc@example.net' };

function setup(spc?: string) {
  const controls = new LiveValue<Controls>(EMPTY_CONTROLS);
  const blocks = new LiveBlockIndex(controls);
  const opts = { blocks, emergency: EMERGENCY, markHeader: 'X-Blocked-Mark', redress: REDRESS };
  // Stands in for the verification hook: what it would have learned from a verified PASSporT.
  const verified: InviteHook = {
    name: 'verify',
    onInitialInvite: (ctx) => {
      if (spc !== undefined) ctx.facts.verified = { code: 'passed', verstat: 'TN-Validation-Passed', spc };
      return { action: 'continue' };
    },
  };
  const hooks = [
    new BlockHook({ stage: 'numbers', ...opts }),
    verified,
    new BlockHook({ stage: 'signer', ...opts }),
  ];
  const h = createB2buaHarness({ role: 'terminating', hooks: { terminating: hooks } });
  open.push(h);
  return { controls, h };
}

async function call(h: B2buaHarness, called = '+13035550100'): Promise<void> {
  h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL, called }));
  await h.advance(0);
}

function lastFinal(h: B2buaHarness) {
  return h.caller
    .responses()
    .filter((r) => r.status >= 200 && r.cseq.method === 'INVITE')
    .at(-1);
}

describe('BlockHook on a terminating trunk', () => {
  it('a reject block by calling number: 603 Network Blocked with the 603+ Reason and the redress contact', async () => {
    const { controls, h } = setup();
    const b = block('calling', '12025550100');
    controls.set(controlsWith(1, [b]));
    const tb = recordTraceback();
    try {
      await call(h);
    } finally {
      tb.stop();
    }
    const final = lastFinal(h)!;
    expect([final.status, final.reason]).toEqual([603, 'Network Blocked']);
    expect(final.get('reason')).toBe(
      `SIP;cause=603;text="v=analytics1;url=https://redress.example.net/blocked;tel=+18005550199;email=noc@example.net;id=${b.id}";location=LN`,
    );
    expect(tb.records.at(-1)?.refused).toEqual({ status: 603, cause: 'block', detail: `block:${b.id}` });
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(0);
  });

  it('by called number and trunk too; nothing matching lets the call through untouched', async () => {
    const { controls, h } = setup();
    controls.set(controlsWith(1, [block('called', '1303*'), block('trunk', 'other')]));
    await call(h);
    expect(lastFinal(h)?.status).toBe(603);
    await call(h, '+14155550100');
    const out = h.hops[0]!.request('INVITE');
    expect(out.has('x-blocked-mark')).toBe(false);
  });

  it("by the verified signer's SPC, after verification", async () => {
    const { controls, h } = setup('1234');
    const b = block('spc', '1234');
    controls.set(controlsWith(1, [b]));
    await call(h);
    expect(lastFinal(h)?.get('reason')).toContain(`id=${b.id}"`);
    const other = setup('5678');
    other.controls.set(controlsWith(1, [b]));
    await call(other.h);
    expect(other.h.hops[0]!.requests('INVITE')).toHaveLength(1);
  });

  it('a mark block adds the mark header; an emergency call passes a reject block', async () => {
    const { controls, h } = setup();
    const mark = block('calling', '1202*', 'mark');
    controls.set(controlsWith(1, [mark]));
    await call(h);
    expect(h.hops[0]!.request('INVITE').get('x-blocked-mark')).toBe(`${mark.id};match=calling`);
    controls.set(controlsWith(2, [block('calling', '1202*')]));
    await call(h, '911');
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(2);
  });
});

describe('BlockHook on a passthrough trunk', () => {
  it('a reject block by trunk refuses with 603; once removed, the next call goes on', async () => {
    const controls = new LiveValue<Controls>(EMPTY_CONTROLS);
    const blocks = new LiveBlockIndex(controls);
    const hook = new BlockHook({
      stage: 'numbers',
      blocks,
      emergency: EMERGENCY,
      markHeader: 'X-Blocked-Mark',
      redress: REDRESS,
    });
    const h = createB2buaHarness({ role: 'passthrough', hooks: { passthrough: [hook] } });
    open.push(h);
    const b = block('trunk', 'peer'); // the harness's trunk
    controls.set(controlsWith(1, [b]));
    await call(h);
    expect(lastFinal(h)?.status).toBe(603);
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(0);
    controls.set(controlsWith(2, []));
    await call(h, '+13035550101');
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(1);
  });
});

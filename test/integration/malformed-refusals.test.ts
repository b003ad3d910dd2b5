/**
 * docs/errors.md, "Requests we refuse after parsing": one scenario per row, keyed by the row's answer column,
 * through the B2BUA (fake transport and clock, src/b2bua/). The rows are read from the document: a row
 * without a scenario, or a scenario without a row, fails.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../src/sip/message/message.js';
import { parseMessage } from '../../src/sip/message/parse.js';
import { TransportError } from '../../src/sip/transport/types.js';
import { type B2buaHarness, CALLER, createB2buaHarness, LOCAL, Peer, T1 } from '../support/b2bua-harness.js';
import { ackOf, callerInvite, cancelOf, inDialogRequest, responseTo } from '../support/peer-messages.js';

interface Row {
  readonly answer: string;
  readonly when: string;
}

function rows(): Row[] {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = doc.split('\n## Requests we refuse after parsing')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/^\| ([^|`-][^|]*?) \| ([^|]+?) \|/gm)]
    .filter((m) => m[1] !== 'answer')
    .map((m) => ({ answer: m[1]!, when: m[2]! }));
}

let h: B2buaHarness | undefined;
afterEach(() => h?.close());

/** The caller's INVITE with `edit` applied to its wire text. */
function invite(
  edit: (text: string) => string = (t) => t,
  headers: string[] = [],
  body = '',
  caller = CALLER,
): string {
  return edit(callerInvite({ caller, to: LOCAL, headers, body }));
}
const method = (m: string) => (t: string) =>
  t.replace(/^INVITE /, `${m} `).replace(/CSeq: 1 INVITE/, `CSeq: 1 ${m}`);

/** Send `text` from the caller and return the final answer it got (the last response over 100). */
async function answer(text: string, from?: Peer): Promise<SipResponse> {
  const harness = h!;
  const peer = from ?? harness.caller;
  const before = peer.responses().length;
  peer.send(text);
  // Transport failures settle through a few promise turns (one per hop tried).
  for (
    let i = 0;
    i < 5 &&
    !peer
      .responses()
      .slice(before)
      .some((r) => r.status >= 200);
    i++
  ) {
    await harness.advance(0);
  }
  const last = peer
    .responses()
    .slice(before)
    .filter((r) => r.status >= 200)
    .at(-1);
  if (last === undefined) throw new Error(`no final response; got ${peer.trace().join(', ')}`);
  return last;
}

/** An answered call: the caller's INVITE, the 200 it got, after its ACK. */
async function establishedCall(): Promise<{ inv: SipRequest; ok: SipResponse }> {
  const harness = h!;
  const text = invite();
  const inv = parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
  harness.caller.send(text);
  await harness.advance(0);
  const hop = harness.hops[0]!;
  const bInvite = hop.request('INVITE');
  hop.send(responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint }));
  await harness.advance(0);
  const ok = harness.caller.response(200);
  harness.caller.send(ackOf(inv, ok));
  await harness.advance(0);
  return { inv, ok };
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  '405 + Allow': async () => {
    h = createB2buaHarness();
    const r = await answer(invite(method('REGISTER')));
    expect([r.status, r.get('allow')]).toEqual([405, expect.stringContaining('INVITE')]);
  },
  '501 + Allow': async () => {
    h = createB2buaHarness();
    const r = await answer(invite(method('FROBNICATE')));
    expect([r.status, r.get('allow')]).toEqual([501, expect.stringContaining('INVITE')]);
  },
  '416': async () => {
    h = createB2buaHarness();
    expect(
      (await answer(invite((t) => t.replace(/^INVITE \S+/, 'INVITE mailto:bob@example.com')))).status,
    ).toBe(416);
  },
  '400': async () => {
    h = createB2buaHarness();
    const r = await answer(invite((t) => t.replace(/Contact: <([^>]*)>/, 'Contact: <$1')));
    expect(r.status).toBe(400);
    expect(h.hops[0]!.received()).toHaveLength(0);
  },
  '483': async () => {
    h = createB2buaHarness();
    expect((await answer(invite((t) => t.replace('Max-Forwards: 70', 'Max-Forwards: 0')))).status).toBe(483);
  },
  '420 + Unsupported': async () => {
    h = createB2buaHarness();
    const r = await answer(invite(undefined, ['Require: frobnication']));
    expect([r.status, r.get('unsupported')]).toEqual([420, 'frobnication']);
  },
  '415 + Accept': async () => {
    h = createB2buaHarness();
    const text = invite(
      (t) => t.replace('Content-Type: application/sdp', 'Content-Type: text/plain'),
      [],
      'hi',
    );
    const r = await answer(text);
    expect([r.status, r.get('accept')]).toEqual([415, expect.stringContaining('application/sdp')]);
  },
  '406 + Accept': async () => {
    h = createB2buaHarness();
    const r = await answer(invite(undefined, ['Accept: text/plain']));
    expect([r.status, r.get('accept')]).toEqual([406, expect.stringContaining('application/sdp')]);
  },
  '481': async () => {
    h = createB2buaHarness();
    expect((await answer(invite(method('BYE')))).status).toBe(481);
  },
  '482': async () => {
    h = createB2buaHarness();
    const ours = `Via: SIP/2.0/UDP ${LOCAL.address}:${LOCAL.port};branch=z9hG4bKours`;
    expect((await answer(invite((t) => t.replace(/(Via: [^\r]*\r\n)/, `$1${ours}\r\n`)))).status).toBe(482);
  },
  '500': async () => {
    h = createB2buaHarness();
    const { inv, ok } = await establishedCall();
    const info = inDialogRequest('INFO', inv, ok, { seq: 5, branch: 'z9hG4bKinfo5' });
    h.caller.send(info);
    await h.advance(0);
    const stale = inDialogRequest('INFO', inv, ok, { seq: 4, branch: 'z9hG4bKinfo4' });
    expect((await answer(stale)).status).toBe(500);
  },
  '403 (configurable)': async () => {
    h = createB2buaHarness();
    const stranger = new Peer('stranger', { address: '127.0.0.99', port: 5070 }, h.transport);
    expect((await answer(invite(undefined, [], '', stranger.endpoint), stranger)).status).toBe(403);
  },
  '503 + Retry-After': async () => {
    // Every hop failed by transport (RFC 3261 §21.5.4: the 503 says when to come back).
    h = createB2buaHarness({ hops: 2 });
    const hops = new Set(h.hops.map((p) => p.endpoint.address));
    const transport = h.transport;
    const send = transport.send.bind(transport);
    // Sends to the hops fail (recorded first); the caller's answers go through.
    transport.send = (t, data) => {
      const sent = send(t, data);
      return hops.has(t.remote.address) ? Promise.reject(new TransportError('send_failed', 'refused')) : sent;
    };
    const r = await answer(invite());
    expect([r.status, r.get('retry-after')]).toEqual([503, '5']);
    expect(h.hops.map((p) => p.requests('INVITE').length)).toEqual([1, 1]);
    h.close();
    // max_calls reached (the harness runs with 100).
    h = createB2buaHarness();
    for (let i = 0; i < 100; i++) h.caller.send(invite());
    await h.advance(0);
    expect(h.stats().calls).toBe(100);
    const full = await answer(invite());
    expect([full.status, full.get('retry-after')]).toEqual([503, '5']);
  },
  '422 + Min-SE': async () => {
    // RFC 4028 §8.1: a caller that supports timers and asks for less than our Min-SE is told our minimum.
    h = createB2buaHarness({ sessionTimers: { enabled: true, sessionExpiresS: 1800, minSeS: 90 } });
    const r = await answer(invite(undefined, ['Supported: timer', 'Session-Expires: 30']));
    expect([r.status, r.get('min-se')]).toEqual([422, '90']);
    expect(h.hops[0]!.received()).toHaveLength(0);
  },
  '487': async () => {
    // RFC 3261 §9.2: the CANCEL gets 200, the INVITE it cancels 487, and the B-leg is CANCELled.
    h = createB2buaHarness();
    const text = invite();
    const inv = parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
    h.caller.send(text);
    await h.advance(0);
    const hop = h.hops[0]!;
    hop.send(responseTo(hop.request('INVITE'), 180, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    const r = await answer(cancelOf(inv));
    expect(r.status).toBe(487);
    expect(h.caller.response(200, 'CANCEL')).toBeDefined();
    expect(hop.trace()).toEqual(['INVITE', 'CANCEL']);
  },
  '503 + Retry-After (overload)': async () => {
    // RFC 3261 §8.2.7: a shed INVITE is answered without a transaction; nothing reaches the next hop.
    let asked = 0;
    h = createB2buaHarness({ shedder: { shed: () => (++asked === 1 ? 7 : undefined) } });
    const r = await answer(invite());
    expect([r.status, r.get('retry-after')]).toEqual([503, '7']);
    expect(h.stats()).toMatchObject({ calls: 0, serverTransactions: 0 });
    expect(h.hops[0]!.received()).toHaveLength(0);
    // The next INVITE (the throttle let it through) is a call.
    h.caller.send(invite());
    await h.advance(0);
    expect(h.hops[0]!.requests('INVITE')).toHaveLength(1);
  },
  '503 + Retry-After (draining)': async () => {
    h = createB2buaHarness();
    h.b2bua.startDrain(30);
    const r = await answer(invite());
    expect([r.status, r.get('retry-after')]).toEqual([503, '30']);
    const opts = await answer(invite(method('OPTIONS')));
    expect([opts.status, opts.get('retry-after')]).toEqual([503, '30']);
    expect(h.hops[0]!.received()).toHaveLength(0);
  },
  '408': async () => {
    h = createB2buaHarness();
    h.caller.send(invite());
    await h.advance(0);
    await h.advance(64 * T1);
    expect(
      h.caller
        .responses()
        .filter((r) => r.status >= 200)
        .map((r) => r.status),
    ).toEqual([408]);
  },
};

const table = rows();

describe('docs/errors.md: requests we refuse after parsing', () => {
  it('has a scenario for every row and a row for every scenario', () => {
    expect(table.map((r) => r.answer).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });
  for (const { answer: status, when } of table) {
    it(`${status}: ${when}`, async () => {
      await SCENARIOS[status]!();
    });
  }
});

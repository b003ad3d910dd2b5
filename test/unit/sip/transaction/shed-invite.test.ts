import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../../src/sip/message/message.js';
import { flush, harness, inRequest, RecordingUser } from './helpers.js';

/** A TU that sheds every new INVITE while `shedding` (overload control, src/b2bua/b2bua.ts `shedInvite`). */
class SheddingUser extends RecordingUser {
  shedding = true;
  asked: SipRequest[] = [];
  shedInvite(req: SipRequest): number | undefined {
    this.asked.push(req);
    return this.shedding ? 7 : undefined;
  }
}

function setUp() {
  const h = harness();
  const tu = new SheddingUser();
  h.layer.setUser(tu);
  return { ...h, tu };
}

describe('shedding a new INVITE (RFC 3261 §8.2.7: a stateless 503)', () => {
  it('answers 503 with the Retry-After the TU gave, and keeps no transaction', async () => {
    const h = setUp();
    h.transport.deliver(inRequest('INVITE'));
    await flush();
    const [res] = h.transport.responses(503);
    expect(res?.get('retry-after')).toBe('7');
    expect(res?.to.tag).toBeDefined();
    expect(h.tu.requests).toHaveLength(0);
    expect(h.layer.stats().server).toBe(0);
    // Nothing left to retransmit: no timer fires another 503.
    h.clock.advance(64 * 500);
    expect(h.transport.responses(503)).toHaveLength(1);
  });

  it("the 503's ACK matches nothing and reaches the TU as a stray", async () => {
    const h = setUp();
    h.transport.deliver(inRequest('INVITE'));
    await flush();
    const toTag = h.transport.responses(503)[0]!.to.tag!;
    h.transport.deliver(inRequest('ACK', { toTag }));
    expect(h.tu.acks).toHaveLength(1);
    expect(h.layer.stats().server).toBe(0);
  });

  it('an admitted INVITE: its retransmission is absorbed by its transaction, never asked about again', async () => {
    const h = setUp();
    h.tu.shedding = false;
    h.transport.deliver(inRequest('INVITE'));
    expect(h.tu.requests).toHaveLength(1);
    h.tu.shedding = true;
    h.transport.deliver(inRequest('INVITE'));
    await flush();
    expect(h.tu.asked).toHaveLength(1);
    expect(h.transport.responses(503)).toHaveLength(0);
  });

  it('in-dialog requests and other methods are never asked', () => {
    const h = setUp();
    h.transport.deliver(inRequest('INVITE', { toTag: 'ours', branch: 'z9hG4bKre' }));
    h.transport.deliver(inRequest('OPTIONS', { branch: 'z9hG4bKopt' }));
    h.transport.deliver(inRequest('BYE', { toTag: 'ours', branch: 'z9hG4bKbye', seq: 2 }));
    expect(h.tu.asked).toHaveLength(0);
    expect(h.tu.requests).toHaveLength(3);
  });
});

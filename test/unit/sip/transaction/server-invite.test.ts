import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/build.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/types.js';
import type { TransportError } from '../../../../src/sip/transport/types.js';
import { flush, harness, inRequest, requestOf, tcpFlow, transportError } from './helpers.js';

function record(tx: ServerTransaction) {
  const r = {
    timeouts: 0,
    ackTimeouts: 0,
    acks: [] as SipRequest[],
    cancels: [] as SipRequest[],
    errors: [] as TransportError[],
    terminated: 0,
  };
  tx.on('timeout', () => r.timeouts++);
  tx.on('ackTimeout', () => r.ackTimeouts++);
  tx.on('ack', (a) => r.acks.push(a));
  tx.on('cancel', (c) => r.cancels.push(c));
  tx.on('transportError', (e) => r.errors.push(e));
  tx.on('terminated', () => r.terminated++);
  return r;
}

function answer(tx: ServerTransaction, status: number, toTag = 'uas1'): SipResponse {
  return createResponse(requestOf(tx), status, undefined, status === 100 ? {} : { toTag });
}

const status = (s: number) => (m: { isRequest(): boolean }) =>
  !m.isRequest() && (m as SipResponse).status === s;

/** ACK for a non-2xx final: same branch as the INVITE (RFC 3261 §17.1.1.3). */
function ackFor(toTag: string, branch = 'z9hG4bKpeer1'): string {
  return inRequest('ACK', { branch, toTag, cseqMethod: 'ACK' });
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  it('passes a new INVITE to the TU in proceeding and sends 100 Trying after 200 ms of silence', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    expect(h.tu.requests).toHaveLength(1);
    const tx = h.tu.requests[0]!.tx;
    expect(tx.state).toBe('proceeding');
    expect(tx.kind).toBe('invite');
    h.clock.advance(199);
    expect(h.transport.sent).toHaveLength(0);
    h.clock.advance(1);
    const trying = h.transport.responses(100);
    expect(trying).toHaveLength(1);
    expect(trying[0]!.to.tag).toBeUndefined();
    expect(trying[0]!.topVia!.branch).toBe('z9hG4bKpeer1');
    expect(h.transport.sent[0]!.target).toMatchObject({ protocol: 'udp', remote: { port: 5070 } });
    h.layer.close();
  });

  it('no automatic 100 when the TU answers first, or when disabled', () => {
    const h = harness();
    h.tu.onNew = (_req, tx) => tx.respond(answer(tx, 100));
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(1000);
    expect(h.transport.responses(100)).toHaveLength(1);

    const h2 = harness({ autoTrying: false });
    h2.transport.deliver(inRequest('INVITE'));
    h2.clock.advance(1000);
    expect(h2.transport.sent).toHaveLength(0);
    h.layer.close();
    h2.layer.close();
  });

  it('a retransmitted INVITE is absorbed and gets the latest provisional again', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    tx.respond(answer(tx, 180));
    h.transport.deliver(inRequest('INVITE'));
    h.transport.deliver(inRequest('INVITE'));
    expect(h.tu.requests).toHaveLength(1);
    expect(h.transport.responses(180)).toHaveLength(3);
    expect(h.transport.sent.slice(1).every((s) => s.bytes)).toBe(true);
    h.layer.close();
  });

  it('a retransmitted INVITE before any response is answered with 100 at once', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(50);
    h.transport.deliver(inRequest('INVITE'));
    expect(h.transport.responses(100)).toHaveLength(1);
    h.clock.advance(500);
    expect(h.transport.responses(100)).toHaveLength(1);
    h.layer.close();
  });

  it('non-2xx final: Timer G (500, 1000, 2000, 4000, 4000 ...) until Timer H at 64*T1 -> timeout', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    tx.respond(answer(tx, 486));
    expect(tx.state).toBe('completed');
    h.clock.advance(31_999);
    expect(h.transport.times(status(486))).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    expect(r.timeouts).toBe(0);
    h.clock.advance(1);
    expect(r.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().server).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('ACK for the non-2xx -> confirmed (absorbed, not passed up); Timer I = T4 on UDP', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    tx.respond(answer(tx, 603, 'uasX'));
    h.clock.advance(600);
    h.transport.deliver(ackFor('uasX'));
    expect(tx.state).toBe('confirmed');
    expect(h.tu.acks).toHaveLength(0);
    const sentBefore = h.transport.sent.length;
    // ACK retransmissions and INVITE retransmissions are absorbed; no more Timer G.
    h.transport.deliver(ackFor('uasX'));
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(4999);
    expect(h.transport.sent.length).toBe(sentBefore);
    expect(tx.state).toBe('confirmed');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(r.timeouts).toBe(0);
    expect(r.terminated).toBe(1);
    expect(h.tu.acks).toHaveLength(0);
    expect(h.layer.stats().server).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('over TCP: no Timer G, Timer I is 0, Timer H still guards', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'), tcpFlow(3));
    const tx = h.tu.requests[0]!.tx;
    tx.respond(answer(tx, 480));
    expect(h.transport.sent[0]!.target).toMatchObject({ protocol: 'tcp', connectionId: 3 });
    h.clock.advance(10_000);
    expect(h.transport.responses(480)).toHaveLength(1);
    h.transport.deliver(ackFor('uas1'), tcpFlow(3));
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().server).toBe(0);
    expect(h.clock.pending).toBe(0);

    h.transport.deliver(inRequest('INVITE', { branch: 'z9hG4bKother' }), tcpFlow(3));
    const tx2 = h.tu.requests[1]!.tx;
    const r2 = record(tx2);
    tx2.respond(answer(tx2, 480));
    h.clock.advance(32_000);
    expect(r2.timeouts).toBe(1);
    expect(h.layer.stats().server).toBe(0);
  });

  it('RFC 6026 accepted: INVITE retransmissions absorbed, 2xx resent only by the TU, ACK to the TU, Timer L', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    const ok = answer(tx, 200, 'dlg1');
    expect(tx.respond(ok)).toBe(true);
    expect(tx.state).toBe('accepted');
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(10_000);
    expect(h.tu.requests).toHaveLength(1);
    expect(h.transport.responses(200)).toHaveLength(1); // plain respond(): no automatic retransmission
    expect(tx.respond(ok)).toBe(true); // the TU may retransmit
    expect(tx.respond(answer(tx, 486))).toBe(false); // no non-2xx after a 2xx
    expect(h.transport.responses(200)).toHaveLength(2);
    // ACK for the 2xx: a new branch (its own transaction) -> TU, and the `ack` event.
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack1', toTag: 'dlg1', cseqMethod: 'ACK' }));
    expect(h.tu.acks).toHaveLength(1);
    expect(r.acks).toHaveLength(1);
    expect(tx.state).toBe('accepted');
    h.clock.advance(22_000 - 1);
    expect(tx.state).toBe('accepted');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(r.ackTimeouts).toBe(0);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
  });

  it('respondReliably2xx retransmits T1, 2T1 ... T2 until the ACK, then stops', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    tx.respondReliably2xx(answer(tx, 200, 'dlg2'));
    h.clock.advance(16_000);
    expect(h.transport.times(status(200))).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500]);
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack2', toTag: 'dlg2', cseqMethod: 'ACK' }));
    expect(r.acks).toHaveLength(1);
    expect(h.tu.acks).toHaveLength(1);
    h.clock.advance(16_000);
    expect(h.transport.responses(200)).toHaveLength(7);
    expect(r.ackTimeouts).toBe(0);
    expect(tx.state).toBe('terminated');
    // A late ACK retransmission still reaches the TU.
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack2', toTag: 'dlg2', cseqMethod: 'ACK' }));
    expect(h.tu.acks).toHaveLength(2);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
  });

  it('respondReliably2xx also retransmits over TCP (§13.3.1.4 is end-to-end)', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'), tcpFlow(5));
    const tx = h.tu.requests[0]!.tx;
    tx.respondReliably2xx(answer(tx, 200, 'dlg'));
    h.clock.advance(1600);
    expect(h.transport.times(status(200))).toEqual([0, 500, 1500]);
    h.layer.close();
  });

  it('an ACK with another To tag does not stop the 2xx retransmission', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    tx.respondReliably2xx(answer(tx, 200, 'mine'));
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack3', toTag: 'other', cseqMethod: 'ACK' }));
    expect(r.acks).toHaveLength(0);
    expect(h.tu.acks).toHaveLength(1); // still the TU's to judge
    h.clock.advance(600);
    expect(h.transport.responses(200)).toHaveLength(2);
    h.layer.close();
  });

  it('no ACK within 64*T1 after respondReliably2xx -> ackTimeout, then terminated', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    tx.respondReliably2xx(answer(tx, 200, 'dlg3'));
    h.clock.advance(31_999);
    expect(r.ackTimeouts).toBe(0);
    h.clock.advance(1);
    expect(r.ackTimeouts).toBe(1);
    expect(r.terminated).toBe(1);
    expect(h.transport.times(status(200))).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
    expect(h.clock.pending).toBe(0);
  });

  it('respondReliably2xx refuses a non-2xx; respond refuses a bad status', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    expect(() => tx.respondReliably2xx(answer(tx, 486))).toThrow(
      expect.objectContaining({ code: 'invalid_response' }),
    );
    const bad = answer(tx, 200);
    bad.status = 99;
    expect(() => tx.respond(bad)).toThrow(expect.objectContaining({ code: 'invalid_response' }));
    expect(tx.state).toBe('proceeding');
    h.layer.close();
  });

  it('a final after a final is refused (returns false)', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    expect(tx.respond(answer(tx, 486))).toBe(true);
    expect(tx.respond(answer(tx, 200))).toBe(false);
    expect(tx.respond(answer(tx, 180))).toBe(false);
    expect(h.transport.sent).toHaveLength(1);
    h.layer.close();
  });

  it('a transport error while sending a response is reported and ends the transaction (§17.2.4)', async () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const r = record(tx);
    h.transport.failWith = transportError();
    tx.respond(answer(tx, 180));
    await flush();
    expect(r.errors).toHaveLength(1);
    expect(tx.state).toBe('terminated');
    expect(tx.respond(answer(tx, 200))).toBe(false);
    expect(h.layer.stats().server).toBe(0);
    expect(h.clock.pending).toBe(0);
  });
});

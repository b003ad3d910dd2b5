import { describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import type { ClientTransaction } from '../../../../src/sip/transaction/types.js';
import type { TransportError } from '../../../../src/sip/transport/types.js';
import {
  flush,
  harness,
  outRequest,
  responseTo,
  target,
  tcpFlow,
  transportError,
  udpFlow,
} from './helpers.js';

interface Recorded {
  responses: SipResponse[];
  timeouts: number;
  errors: TransportError[];
  terminated: number;
}

function record(tx: ClientTransaction): Recorded {
  const r: Recorded = { responses: [], timeouts: 0, errors: [], terminated: 0 };
  tx.on('response', (res) => r.responses.push(res));
  tx.on('timeout', () => r.timeouts++);
  tx.on('transportError', (e) => r.errors.push(e));
  tx.on('terminated', () => r.terminated++);
  return r;
}

const isInvite = (m: { isRequest(): boolean }) => m.isRequest() && (m as SipRequest).method === 'INVITE';

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  it('stamps our Via with a magic-cookie branch and rport', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const via = h.transport.sent[0]!.message.topVia!;
    expect(via.transport).toBe('UDP');
    expect(via.host).toBe('192.0.2.10');
    expect(via.port).toBe(5060);
    expect(via.branch).toBe(tx.id);
    expect(tx.id).toMatch(/^z9hG4bK.{8,}/);
    expect(via.rport).toBeNull();
    expect(tx.kind).toBe('invite');
    expect(tx.state).toBe('calling');
  });

  it('retransmits over UDP with Timer A doubling (500, 1000, 2000 ...) and times out with Timer B at 64*T1', () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('INVITE'), target());
    const r = record(tx);
    h.clock.advance(31_999);
    expect(h.transport.times(isInvite)).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    expect(r.timeouts).toBe(0);
    h.clock.advance(1);
    expect(r.timeouts).toBe(1);
    expect(r.terminated).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
    // Retransmissions are the same bytes as the original.
    const [first, ...rest] = h.transport.sent;
    for (const s of rest) expect(s.message.topVia!.branch).toBe(first!.message.topVia!.branch);
    expect(rest.every((s) => s.bytes)).toBe(true);
  });

  it('does not retransmit over TCP, still times out with Timer B', () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('INVITE'), target('tcp'));
    const r = record(tx);
    h.clock.advance(32_000);
    expect(h.transport.times(isInvite)).toEqual([0]);
    expect(h.transport.sent[0]!.message.topVia!.transport).toBe('TCP');
    expect(r.timeouts).toBe(1);
    expect(h.layer.stats().client).toBe(0);
  });

  it('honours a short T1 for every derived timer', () => {
    const h = harness({ timers: { t1Ms: 10, t2Ms: 40 } });
    const tx = h.layer.sendRequest(outRequest('INVITE'), target());
    const r = record(tx);
    h.clock.advance(640);
    expect(h.transport.times(isInvite)).toEqual([0, 10, 30, 70, 150, 310, 630]);
    expect(r.timeouts).toBe(1);
  });

  it('a provisional stops retransmission and Timer B, and is passed up', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.clock.advance(600);
    h.transport.deliver(responseTo(req, 100));
    h.transport.deliver(responseTo(req, 180));
    expect(tx.state).toBe('proceeding');
    h.clock.advance(60_000);
    expect(h.transport.times(isInvite)).toEqual([0, 500]);
    expect(r.timeouts).toBe(0);
    expect(r.responses.map((x) => x.status)).toEqual([100, 180]);
    expect(tx.state).toBe('proceeding');
    tx.cancel();
    h.layer.close();
  });

  it('ACKs a non-2xx final itself (§17.1.1.3) and absorbs its retransmissions with the same ACK', () => {
    const h = harness();
    const req = outRequest('INVITE', {
      routes: ['<sip:proxy1.example.com;lr>', '<sip:proxy2.example.com;lr>'],
    });
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.transport.deliver(responseTo(req, 180, 'callee'));
    h.transport.deliver(responseTo(req, 486, 'callee'));
    expect(tx.state).toBe('completed');
    expect(r.responses.map((x) => x.status)).toEqual([180, 486]);
    const acks = h.transport.requests('ACK');
    expect(acks).toHaveLength(1);
    const ack = acks[0]!;
    expect(ack.uri).toBe(req.uri);
    expect(ack.getAll('via')).toEqual([req.get('via')]);
    expect(ack.topVia!.branch).toBe(tx.id);
    expect(ack.to.tag).toBe('callee');
    expect(ack.from.tag).toBe('from1');
    expect(ack.callId).toBe(req.callId);
    expect(ack.cseq).toEqual({ seq: 1, method: 'ACK' });
    expect(ack.getAll('route')).toEqual(['<sip:proxy1.example.com;lr>', '<sip:proxy2.example.com;lr>']);
    expect(ack.maxForwards).toBe(70);
    expect(ack.body.length).toBe(0);

    // Retransmitted final: absorbed (not passed up again), ACK resent.
    h.transport.deliver(responseTo(req, 486, 'callee'));
    h.transport.deliver(responseTo(req, 486, 'callee'));
    expect(r.responses).toHaveLength(2);
    expect(h.transport.requests('ACK')).toHaveLength(3);
    expect(h.transport.requests('ACK')[2]!.topVia!.branch).toBe(tx.id);
  });

  it('Timer D is 32 s on UDP', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.clock.advance(100);
    h.transport.deliver(responseTo(req, 503));
    h.clock.advance(31_999);
    expect(tx.state).toBe('completed');
    expect(h.layer.stats().client).toBe(1);
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(r.terminated).toBe(1);
    expect(r.timeouts).toBe(0);
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('Timer D is 0 on TCP: terminated right after the final, ACK on the same connection', async () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target('tcp'));
    const r = record(tx);
    await flush();
    h.transport.deliver(responseTo(req, 404), tcpFlow(99));
    expect(r.responses.map((x) => x.status)).toEqual([404]);
    expect(tx.state).toBe('terminated');
    expect(r.terminated).toBe(1);
    expect(h.layer.stats().client).toBe(0);
    const ackSent = h.transport.sent.find(
      (s) => s.message.isRequest() && (s.message as SipRequest).method === 'ACK',
    );
    expect(ackSent!.target.connectionId).toBe(99);
    expect(h.clock.pending).toBe(0);
  });

  it('RFC 6026: a 2xx moves to accepted; 2xx retransmissions pass up; Timer M ends it; later 2xx are stray', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.clock.advance(200);
    h.transport.deliver(responseTo(req, 200, 'ok1'));
    expect(tx.state).toBe('accepted');
    // No ACK from the transaction for a 2xx: the TU does it.
    expect(h.transport.requests('ACK')).toHaveLength(0);
    h.clock.advance(1000);
    h.transport.deliver(responseTo(req, 200, 'ok1'));
    h.transport.deliver(responseTo(req, 200, 'fork2'));
    expect(r.responses.map((x) => `${x.status}/${x.to.tag}`)).toEqual(['200/ok1', '200/ok1', '200/fork2']);
    // Non-2xx in accepted: absorbed.
    h.transport.deliver(responseTo(req, 487, 'x'));
    expect(r.responses).toHaveLength(3);
    // No more INVITE retransmissions after the 2xx.
    expect(h.transport.times(isInvite)).toEqual([0]);
    h.clock.advance(32_000 - 1000 - 1);
    expect(tx.state).toBe('accepted');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(r.timeouts).toBe(0);
    h.transport.deliver(responseTo(req, 200, 'ok1'));
    expect(h.tu.strays.map((x) => x.status)).toEqual([200]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
  });

  it('reports a transport error and terminates (§17.1.4)', async () => {
    const h = harness();
    h.transport.failWith = transportError();
    const tx = h.layer.sendRequest(outRequest('INVITE'), target());
    const r = record(tx);
    await flush();
    expect(r.errors.map((e) => e.code)).toEqual(['send_failed']);
    expect(r.terminated).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('remembers the resolved flow', async () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('INVITE'), target('tcp'));
    expect(tx.flow).toBeUndefined();
    await flush();
    expect(tx.flow).toMatchObject({ protocol: 'tcp', connectionId: 99 });
    h.layer.close();
  });
});

describe('CANCEL (RFC 3261 §9.1)', () => {
  function cancels(h: ReturnType<typeof harness>): SipRequest[] {
    return h.transport.requests('CANCEL');
  }

  it('builds the CANCEL from the INVITE: same Request-URI, Call-ID, From, To, CSeq number, Via/branch, Route', () => {
    const h = harness();
    const req = outRequest('INVITE', { routes: ['<sip:edge.example.com;lr>'], seq: 7 });
    const tx = h.layer.sendRequest(req, target());
    h.transport.deliver(responseTo(req, 180, 'ring'));
    tx.cancel({ reason: 'SIP;cause=487;text="caller hung up"' });
    const c = cancels(h);
    expect(c).toHaveLength(1);
    const cancel = c[0]!;
    expect(cancel.uri).toBe(req.uri);
    expect(cancel.callId).toBe(req.callId);
    expect(cancel.get('from')).toBe(req.get('from'));
    expect(cancel.get('to')).toBe(req.get('to'));
    expect(cancel.to.tag).toBeUndefined();
    expect(cancel.cseq).toEqual({ seq: 7, method: 'CANCEL' });
    expect(cancel.getAll('via')).toEqual([req.get('via')]);
    expect(cancel.topVia!.branch).toBe(tx.id);
    expect(cancel.getAll('route')).toEqual(['<sip:edge.example.com;lr>']);
    expect(cancel.get('reason')).toBe('SIP;cause=487;text="caller hung up"');
    // Once only.
    tx.cancel();
    expect(cancels(h)).toHaveLength(1);
    expect(h.layer.stats().client).toBe(2);
  });

  it('the CANCEL runs as its own non-INVITE transaction (retransmitted by Timer E, its 200 absorbed)', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.transport.deliver(responseTo(req, 180, 'ring'));
    tx.cancel();
    const cancel = cancels(h)[0]!;
    h.clock.advance(500);
    expect(cancels(h)).toHaveLength(2);
    h.transport.deliver(responseTo(cancel, 200, 'ring'));
    h.transport.deliver(responseTo(req, 487, 'ring'));
    // The 200 for CANCEL is not an INVITE response.
    expect(r.responses.map((x) => x.status)).toEqual([180, 487]);
    expect(h.transport.requests('ACK')).toHaveLength(1);
    h.clock.advance(40_000);
    expect(cancels(h)).toHaveLength(2);
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('defers the CANCEL until a provisional arrives', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    tx.cancel();
    h.clock.advance(700);
    expect(cancels(h)).toHaveLength(0);
    h.transport.deliver(responseTo(req, 100));
    expect(cancels(h)).toHaveLength(1);
  });

  it('never sends a deferred CANCEL when a final arrives first', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    tx.cancel();
    h.transport.deliver(responseTo(req, 200, 'answered'));
    h.transport.deliver(responseTo(req, 180, 'late'));
    expect(cancels(h)).toHaveLength(0);
    expect(tx.state).toBe('accepted');
    // Cancel after a final is a no-op.
    tx.cancel();
    expect(cancels(h)).toHaveLength(0);
    h.clock.runAll();
    expect(h.layer.stats().client).toBe(0);
  });

  it('a deferred CANCEL is dropped when Timer B fires', () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('INVITE'), target());
    const r = record(tx);
    tx.cancel();
    h.clock.runAll();
    expect(r.timeouts).toBe(1);
    expect(cancels(h)).toHaveLength(0);
    expect(h.layer.stats().client).toBe(0);
  });

  it('ends the INVITE transaction 64*T1 after the CANCEL when no final comes (timeout)', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.transport.deliver(responseTo(req, 183, 'ep'));
    h.clock.advance(1000);
    tx.cancel();
    h.clock.advance(31_999);
    expect(tx.state).toBe('proceeding');
    h.clock.advance(1);
    expect(r.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
    h.clock.runAll();
    expect(h.layer.stats().client).toBe(0);
  });

  it('Timer C: a branch ringing too long without a provisional cancels itself', () => {
    const h = harness({ timers: { timerCMs: 181_000 } });
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.transport.deliver(responseTo(req, 180, 'r'));
    h.clock.advance(100_000);
    h.transport.deliver(responseTo(req, 180, 'r')); // resets Timer C
    h.clock.advance(180_999);
    expect(cancels(h)).toHaveLength(0);
    h.clock.advance(1);
    expect(cancels(h)).toHaveLength(1);
    h.transport.deliver(responseTo(req, 487, 'r'));
    expect(r.responses.at(-1)!.status).toBe(487);
    h.clock.runAll();
    expect(h.layer.stats().client).toBe(0);
  });

  it('cancel() on a non-INVITE transaction is a no-op', () => {
    const h = harness();
    const req = outRequest('OPTIONS');
    const tx = h.layer.sendRequest(req, target());
    h.transport.deliver(responseTo(req, 100));
    tx.cancel();
    expect(cancels(h)).toHaveLength(0);
    h.layer.close();
  });

  it('CANCEL goes on the INVITE connection over TCP', async () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target('tcp'));
    await flush();
    h.transport.deliver(responseTo(req, 180, 'r'), tcpFlow(99));
    tx.cancel();
    const sent = h.transport.sent.find(
      (s) => s.message.isRequest() && (s.message as SipRequest).method === 'CANCEL',
    );
    expect(sent!.target).toMatchObject({ protocol: 'tcp', connectionId: 99 });
    h.layer.close();
  });

  it('UDP flow of responses does not change where the CANCEL goes', () => {
    const h = harness();
    const req = outRequest('INVITE');
    const tx = h.layer.sendRequest(req, target());
    h.transport.deliver(responseTo(req, 180, 'r'), udpFlow({ address: '192.0.2.99', port: 6000 }));
    tx.cancel();
    const sent = h.transport.sent.find(
      (s) => s.message.isRequest() && (s.message as SipRequest).method === 'CANCEL',
    );
    expect(sent!.target).toEqual(target());
    h.layer.close();
  });
});

import { describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import type { ClientTransaction } from '../../../../src/sip/transaction/types.js';
import type { TransportError } from '../../../../src/sip/transport/types.js';
import { flush, harness, outRequest, responseTo, target, tcpFlow, transportError } from './helpers.js';

function record(tx: ClientTransaction) {
  const r = { responses: [] as SipResponse[], timeouts: 0, errors: [] as TransportError[], terminated: 0 };
  tx.on('response', (res) => r.responses.push(res));
  tx.on('timeout', () => r.timeouts++);
  tx.on('transportError', (e) => r.errors.push(e));
  tx.on('terminated', () => r.terminated++);
  return r;
}

const isBye = (m: { isRequest(): boolean }) => m.isRequest() && (m as SipRequest).method === 'BYE';

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('Timer E doubles up to T2 (500, 1000, 2000, 4000, 4000 ...); Timer F times out at 64*T1', () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('BYE', { toTag: 't' }), target());
    const r = record(tx);
    expect(tx.state).toBe('trying');
    expect(tx.kind).toBe('non-invite');
    h.clock.advance(31_999);
    expect(h.transport.times(isBye)).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    expect(r.timeouts).toBe(0);
    h.clock.advance(1);
    expect(r.timeouts).toBe(1);
    expect(r.terminated).toBe(1);
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('in Proceeding, Timer E restarts at T2', () => {
    const h = harness();
    const req = outRequest('BYE', { toTag: 't' });
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.clock.advance(600); // sent at 0 and 500; next due at 1500
    h.transport.deliver(responseTo(req, 100));
    expect(tx.state).toBe('proceeding');
    h.clock.advance(20_000 - 600);
    // 1500 (E was armed before the 1xx), then every T2.
    expect(h.transport.times(isBye)).toEqual([0, 500, 1500, 5500, 9500, 13_500, 17_500]);
    expect(r.responses.map((x) => x.status)).toEqual([100]);
    h.transport.deliver(responseTo(req, 200, 't'));
    expect(tx.state).toBe('completed');
    h.layer.close();
  });

  it('a final response passes up once; retransmissions absorbed; Timer K is T4 on UDP', () => {
    const h = harness();
    const req = outRequest('OPTIONS');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    h.clock.advance(100);
    h.transport.deliver(responseTo(req, 200));
    h.transport.deliver(responseTo(req, 200));
    expect(r.responses).toHaveLength(1);
    expect(tx.state).toBe('completed');
    h.clock.advance(4999);
    expect(tx.state).toBe('completed');
    // No retransmission of the request in Completed.
    expect(h.transport.sent).toHaveLength(1);
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(r.terminated).toBe(1);
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('over TCP: no retransmission, Timer K is 0', async () => {
    const h = harness();
    const req = outRequest('BYE', { toTag: 't' });
    const tx = h.layer.sendRequest(req, target('tcp'));
    const r = record(tx);
    h.clock.advance(10_000);
    expect(h.transport.sent).toHaveLength(1);
    await flush();
    h.transport.deliver(responseTo(req, 481), tcpFlow(99));
    expect(r.responses.map((x) => x.status)).toEqual([481]);
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().client).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('Timer F over TCP', () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('OPTIONS'), target('tcp'));
    const r = record(tx);
    h.clock.advance(31_999);
    expect(r.timeouts).toBe(0);
    h.clock.advance(1);
    expect(r.timeouts).toBe(1);
  });

  it('reports a transport error and terminates (§17.1.4)', async () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('OPTIONS'), target());
    const r = record(tx);
    h.transport.failWith = transportError();
    h.clock.advance(500); // the first retransmission fails
    await flush();
    expect(r.errors).toHaveLength(1);
    expect(tx.state).toBe('terminated');
    expect(h.clock.pending).toBe(0);
    expect(h.layer.stats().client).toBe(0);
  });

  it('responses with another CSeq method do not match (§17.1.3)', () => {
    const h = harness();
    const req = outRequest('OPTIONS');
    const tx = h.layer.sendRequest(req, target());
    const r = record(tx);
    const wrong = responseTo(req, 200).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INFO');
    h.transport.deliver(wrong);
    expect(r.responses).toHaveLength(0);
    expect(h.tu.strays).toHaveLength(1);
    h.layer.close();
  });

  it('rejects ACK/CANCEL through sendRequest and a CSeq method mismatch', () => {
    const h = harness();
    expect(() => h.layer.sendRequest(outRequest('ACK'), target())).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(() => h.layer.sendRequest(outRequest('CANCEL'), target())).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    const bad = outRequest('INFO');
    bad.set('cseq', '1 BYE');
    expect(() => h.layer.sendRequest(bad, target())).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(h.layer.stats().client).toBe(0);
  });

  it('re-sending the same request object replaces our Via (new branch) instead of stacking one', () => {
    const h = harness();
    const req = outRequest('OPTIONS');
    const tx1 = h.layer.sendRequest(req, target());
    h.transport.deliver(responseTo(req, 503));
    const tx2 = h.layer.sendRequest(req, { protocol: 'udp', remote: { address: '192.0.2.21', port: 5060 } });
    expect(req.count('via')).toBe(1);
    expect(tx2.id).not.toBe(tx1.id);
    expect(req.topVia!.branch).toBe(tx2.id);
    h.layer.close();
  });
});

import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/build.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/types.js';
import { harness, inRequest, requestOf, tcpFlow } from './helpers.js';

function answer(tx: ServerTransaction, status: number) {
  return createResponse(requestOf(tx), status, undefined, { toTag: 'uas' });
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('Trying: retransmissions are discarded until the TU answers; no automatic 100', () => {
    const h = harness();
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    const tx = h.tu.requests[0]!.tx;
    expect(tx.state).toBe('trying');
    expect(tx.kind).toBe('non-invite');
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    h.clock.advance(1000);
    expect(h.transport.sent).toHaveLength(0);
    expect(h.tu.requests).toHaveLength(1);
    h.layer.close();
  });

  it('Proceeding: a retransmission gets the last provisional; Completed: the final', () => {
    const h = harness();
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    const tx = h.tu.requests[0]!.tx;
    tx.respond(answer(tx, 100));
    expect(tx.state).toBe('proceeding');
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    expect(h.transport.responses(100)).toHaveLength(2);
    tx.respond(answer(tx, 200));
    expect(tx.state).toBe('completed');
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    expect(h.transport.responses(200)).toHaveLength(3);
    // TU responses after the final are discarded.
    expect(tx.respond(answer(tx, 500))).toBe(false);
    expect(h.transport.responses(500)).toHaveLength(0);
    h.layer.close();
  });

  it('Timer J is 64*T1 on UDP', () => {
    const h = harness();
    h.transport.deliver(inRequest('OPTIONS'));
    const tx = h.tu.requests[0]!.tx;
    let terminated = 0;
    tx.on('terminated', () => terminated++);
    tx.respond(answer(tx, 200));
    h.clock.advance(31_999);
    expect(tx.state).toBe('completed');
    h.transport.deliver(inRequest('OPTIONS'));
    expect(h.tu.requests).toHaveLength(1);
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(terminated).toBe(1);
    expect(h.layer.stats().server).toBe(0);
    expect(h.clock.pending).toBe(0);
    // After Timer J the same request is new again.
    h.transport.deliver(inRequest('OPTIONS'));
    expect(h.tu.requests).toHaveLength(2);
    h.layer.close();
  });

  it('Timer J is 0 on TCP', () => {
    const h = harness();
    h.transport.deliver(inRequest('OPTIONS'), tcpFlow(2));
    const tx = h.tu.requests[0]!.tx;
    tx.respond(answer(tx, 200));
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().server).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('a TU that never answers: the guard ends the transaction after 64*T1 (timeout)', () => {
    const h = harness();
    h.transport.deliver(inRequest('MESSAGE'));
    const tx = h.tu.requests[0]!.tx;
    let timeouts = 0;
    tx.on('timeout', () => timeouts++);
    h.clock.advance(31_999);
    expect(tx.state).toBe('trying');
    h.clock.advance(1);
    expect(timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(h.layer.stats().server).toBe(0);
  });

  it('respondReliably2xx is INVITE-only', () => {
    const h = harness();
    h.transport.deliver(inRequest('OPTIONS'));
    const tx = h.tu.requests[0]!.tx;
    expect(() => tx.respondReliably2xx(answer(tx, 200))).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    h.layer.close();
  });
});

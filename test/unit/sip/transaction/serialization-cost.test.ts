import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse } from '../../../../src/sip/message/build.js';
import type { SipRequest } from '../../../../src/sip/message/message.js';
import { serializeMessage } from '../../../../src/sip/message/serialize.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/types.js';
import { type Harness, harness, inRequest, outRequest, responseTo, target, tcpFlow } from './helpers.js';

// Count the serializations the transaction layer does itself (the transport serializes every message it is
// handed as an object; the fake one here does not). Shedding must not add any on the common paths.
vi.mock('../../../../src/sip/message/serialize.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../../src/sip/message/serialize.js')>();
  return { ...m, serializeMessage: vi.fn(m.serializeMessage) };
});
const serialized = vi.mocked(serializeMessage);

beforeEach(() => {
  serialized.mockClear();
});

function uas(answer: (req: SipRequest, tx: ServerTransaction) => void): Harness {
  const h = harness();
  h.tu.onNew = answer;
  return h;
}

const ack = (toTag: string) => inRequest('ACK', { branch: 'z9hG4bKack', toTag, cseqMethod: 'ACK' });

describe('serializations done by the transaction layer', () => {
  it('none for INVITE -> 100 -> reliable 2xx -> ACK within T1 on UDP, through Timer L', () => {
    const h = uas((req, tx) => {
      tx.respond(createResponse(req, 100));
      tx.respondReliably2xx(createResponse(req, 200, undefined, { toTag: 'ok' }));
    });
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(100);
    h.transport.deliver(ack('ok'));
    h.transport.deliver(inRequest('INVITE')); // absorbed in Accepted (RFC 6026 §7.1)
    h.clock.advance(h.layer.timers.l);
    expect(h.layer.stats().server).toBe(0);
    expect(serialized).not.toHaveBeenCalled();
  });

  it('one for BYE -> 200 on UDP (the bytes Timer J resends), however many retransmissions', () => {
    const h = uas((req, tx) => tx.respond(createResponse(req, 200, undefined, { toTag: 'x' })));
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    expect(h.transport.responses(200)).toHaveLength(3);
    expect(serialized).toHaveBeenCalledTimes(1);
    h.layer.close();
  });

  it('none for BYE -> 200 or INVITE -> 486 -> ACK on TCP', () => {
    const h = uas((req, tx) =>
      tx.respond(createResponse(req, req.method === 'BYE' ? 200 : 486, undefined, { toTag: 'x' })),
    );
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }), tcpFlow(2));
    h.transport.deliver(inRequest('INVITE', { branch: 'z9hG4bKinv' }), tcpFlow(2));
    h.transport.deliver(
      inRequest('ACK', { branch: 'z9hG4bKinv', toTag: 'x', cseqMethod: 'ACK' }),
      tcpFlow(2),
    );
    expect(h.layer.stats().server).toBe(0);
    expect(serialized).not.toHaveBeenCalled();
  });

  it('one for INVITE -> 486 on UDP, reused by Timer G and retransmitted INVITEs', () => {
    const h = uas((req, tx) => tx.respond(createResponse(req, 486, undefined, { toTag: 'x' })));
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(3600);
    h.transport.deliver(inRequest('INVITE'));
    expect(h.transport.responses(486)).toHaveLength(5);
    expect(serialized).toHaveBeenCalledTimes(1);
    h.layer.close();
  });

  it('none for a client INVITE -> 180 -> 200 (and its retransmission), or BYE -> 200', () => {
    const h = harness();
    const invite = outRequest('INVITE');
    h.layer.sendRequest(invite, target());
    h.transport.deliver(responseTo(invite, 180));
    h.transport.deliver(responseTo(invite, 200));
    h.transport.deliver(responseTo(invite, 200));
    const bye = outRequest('BYE');
    h.layer.sendRequest(bye, target());
    h.transport.deliver(responseTo(bye, 200));
    h.clock.advance(h.layer.timers.m);
    expect(h.layer.stats().client).toBe(0);
    expect(serialized).not.toHaveBeenCalled();
  });

  it('a client INVITE -> 486: one on UDP (the ACK Timer D resends), none on TCP', () => {
    const h = harness();
    const udp = outRequest('INVITE');
    h.layer.sendRequest(udp, target());
    h.transport.deliver(responseTo(udp, 486));
    h.transport.deliver(responseTo(udp, 486));
    expect(h.transport.requests('ACK')).toHaveLength(2);
    expect(serialized).toHaveBeenCalledTimes(1);

    serialized.mockClear();
    const tcp = outRequest('INVITE');
    h.layer.sendRequest(tcp, target('tcp'));
    h.transport.deliver(responseTo(tcp, 486), tcpFlow(99));
    expect(h.transport.requests('ACK')).toHaveLength(3);
    expect(serialized).not.toHaveBeenCalled();
    h.layer.close();
  });
});

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/build.js';
import type { SipRequest } from '../../../../src/sip/message/message.js';
import { TransactionLayer } from '../../../../src/sip/transaction/transaction-layer.js';
import { FakeClock } from '../../../support/fake-clock.js';
import {
  FakeTransport,
  flush,
  harness,
  inRequest,
  outRequest,
  responseTo,
  target,
  tcpFlow,
  udpFlow,
} from './helpers.js';

const FIXTURES = new URL('../../../fixtures/torture/', import.meta.url);

describe('server transaction matching (RFC 3261 §17.2.3)', () => {
  it('matches on branch + sent-by + method: another sent-by or method is a new transaction', () => {
    const h = harness();
    h.transport.deliver(inRequest('OPTIONS', { branch: 'z9hG4bKsame' }));
    h.transport.deliver(inRequest('OPTIONS', { branch: 'z9hG4bKsame' }));
    expect(h.tu.requests).toHaveLength(1);
    h.transport.deliver(inRequest('OPTIONS', { branch: 'z9hG4bKsame', sentBy: '192.0.2.30:5070' }));
    expect(h.tu.requests).toHaveLength(2);
    h.transport.deliver(inRequest('INFO', { branch: 'z9hG4bKsame' }));
    expect(h.tu.requests).toHaveLength(3);
    // sent-by host compares case-insensitively.
    h.transport.deliver(inRequest('INFO', { branch: 'z9hG4bKcase', sentBy: 'Host.Example.com' }));
    h.transport.deliver(inRequest('INFO', { branch: 'z9hG4bKcase', sentBy: 'host.example.com' }));
    expect(h.tu.requests).toHaveLength(4);
    expect(h.layer.stats().server).toBe(4);
    h.layer.close();
    expect(h.layer.stats().server).toBe(0);
  });

  it('RFC 4475 inv2543: RFC 2543 INVITE (no branch) matched on R-URI, tags, Call-ID, CSeq and top Via', () => {
    const h = harness();
    const raw = readFileSync(new URL('inv2543.dat', FIXTURES)).toString('latin1');
    h.transport.deliver(raw);
    expect(h.tu.requests).toHaveLength(1);
    const tx = h.tu.requests[0]!.tx;
    expect(tx.id).toMatch(/^rfc2543-/);
    h.transport.deliver(raw); // retransmission
    expect(h.tu.requests).toHaveLength(1);

    // CANCEL per RFC 2543: same R-URI, Via, From, To (no tag), Call-ID, CSeq number.
    const cancel = raw
      .replace('INVITE sip:UserB@example.com', 'CANCEL sip:UserB@example.com')
      .replace('CSeq: 56 INVITE', 'CSeq: 56 CANCEL')
      .replace(/Content-Type:[^\r]*\r\n/, '')
      .replace(/\r\n\r\n[\s\S]*$/, '\r\nContent-Length: 0\r\n\r\n');
    h.transport.deliver(cancel);
    expect(h.tu.cancels).toHaveLength(1);
    expect(h.tu.cancels[0]!.tx).toBe(tx);
    expect(h.transport.responses(200)).toHaveLength(1);
    expect(h.transport.responses(200)[0]!.cseq.method).toBe('CANCEL');

    tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'uas2543' }));
    expect(tx.state).toBe('completed');
    // RFC 2543 ACK: same R-URI, Via, From, Call-ID, CSeq number; To tag of our response.
    const ack = (toTag: string) =>
      cancel
        .replace('CANCEL sip:UserB@example.com', 'ACK sip:UserB@example.com')
        .replace('CSeq: 56 CANCEL', 'CSeq: 56 ACK')
        .replace(
          'To: sip:+16505552222@ss1.example.net;user=phone',
          `To: <sip:+16505552222@ss1.example.net;user=phone>;tag=${toTag}`,
        );
    h.transport.deliver(ack('someone-else'));
    expect(tx.state).toBe('completed');
    expect(h.tu.acks).toHaveLength(1); // not ours: an ACK for a 2xx as far as we know
    h.transport.deliver(ack('uas2543'));
    expect(tx.state).toBe('confirmed');
    expect(h.tu.acks).toHaveLength(1);

    // A new CSeq is a new transaction.
    h.transport.deliver(raw.replace('CSeq: 56 INVITE', 'CSeq: 57 INVITE'));
    expect(h.tu.requests).toHaveLength(2);
    h.layer.close();
  });

  it('RFC 2543 ACK for a 2xx reaches the accepted transaction and the TU', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE', { branch: null }));
    const tx = h.tu.requests[0]!.tx;
    let acked = 0;
    tx.on('ack', () => acked++);
    tx.respondReliably2xx(createResponse(tx.request, 200, undefined, { toTag: 'ok2543' }));
    h.transport.deliver(inRequest('INVITE', { branch: null }));
    expect(h.tu.requests).toHaveLength(1);
    h.transport.deliver(inRequest('ACK', { branch: null, toTag: 'ok2543', cseqMethod: 'ACK' }));
    expect(acked).toBe(1);
    expect(h.tu.acks).toHaveLength(1);
    h.clock.advance(5000);
    expect(h.transport.responses(200)).toHaveLength(1);
    h.layer.close();
  });

  it('a branch that is only the magic cookie or lacks it falls back to RFC 2543 matching', () => {
    const h = harness();
    h.transport.deliver(inRequest('OPTIONS', { branch: 'z9hG4bK' }));
    h.transport.deliver(inRequest('OPTIONS', { branch: 'oldstyle1' }));
    h.transport.deliver(inRequest('OPTIONS', { branch: 'oldstyle1' }));
    expect(h.tu.requests).toHaveLength(2);
    h.layer.close();
  });
});

describe('CANCEL handling (RFC 3261 §9.2)', () => {
  it('answers 200 with the INVITE response To tag and tells the TU; the TU sends 487', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    const cancelled: SipRequest[] = [];
    tx.on('cancel', (c) => cancelled.push(c));
    tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'ring1' }));
    h.transport.deliver(inRequest('CANCEL'));
    const ok = h.transport.responses(200);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.cseq.method).toBe('CANCEL');
    expect(ok[0]!.to.tag).toBe('ring1');
    expect(h.tu.cancels).toHaveLength(1);
    expect(h.tu.cancels[0]!.tx).toBe(tx);
    expect(cancelled).toHaveLength(1);
    // CANCEL retransmission: answered again by the CANCEL's own transaction, TU not bothered.
    h.transport.deliver(inRequest('CANCEL'));
    expect(h.transport.responses(200)).toHaveLength(2);
    expect(h.tu.cancels).toHaveLength(1);
    tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'ring1' }));
    h.transport.deliver(inRequest('ACK', { toTag: 'ring1', cseqMethod: 'ACK' }));
    expect(tx.state).toBe('confirmed');
    h.clock.runAll();
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
  });

  it('481 when nothing matches (other branch), and the TU hears of it with no transaction', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    h.transport.deliver(inRequest('CANCEL', { branch: 'z9hG4bKnomatch' }));
    expect(h.transport.responses(481)).toHaveLength(1);
    expect(h.transport.responses(481)[0]!.to.tag).toBeDefined();
    expect(h.tu.cancels).toEqual([expect.objectContaining({ tx: undefined })]);
    h.layer.close();
  });

  it('after a final response the CANCEL still gets 200 but has no effect (no cancel event)', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE'));
    const tx = h.tu.requests[0]!.tx;
    let events = 0;
    tx.on('cancel', () => events++);
    tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'done' }));
    h.transport.deliver(inRequest('CANCEL'));
    expect(h.transport.responses(200).filter((r) => r.cseq.method === 'CANCEL')).toHaveLength(1);
    expect(events).toBe(0);
    expect(h.tu.cancels[0]!.tx?.state).toBe('accepted');
    h.layer.close();
  });
});

describe('client matching and stray responses (RFC 3261 §17.1.3)', () => {
  it('a response with an unknown branch is stray and goes to the TU', () => {
    const h = harness();
    const req = outRequest('OPTIONS');
    h.layer.sendRequest(req, target());
    h.transport.deliver(responseTo(req, 200).replace(/branch=[^;\r]+/, 'branch=z9hG4bKunknown'));
    expect(h.tu.strays).toHaveLength(1);
    h.layer.close();
  });
});

describe('stateless answers to unparseable requests (RFC 3261 §8.2.6)', () => {
  it('400 with the problem in the reason phrase when Via, From, To, Call-ID, CSeq are present', () => {
    const h = harness();
    const bad = inRequest('INVITE').replace('Max-Forwards: 70', 'Max-Forwards: seventy');
    h.transport.deliver(bad);
    expect(h.tu.requests).toHaveLength(0);
    const res = h.transport.responses(400);
    expect(res).toHaveLength(1);
    expect(res[0]!.reason).toMatch(/^Bad Request - /);
    expect(res[0]!.to.tag).toBeDefined();
    expect(res[0]!.topVia!.branch).toBe('z9hG4bKpeer1');
    expect(h.tu.parseErrors).toEqual([expect.objectContaining({ answered: 400 })]);
    expect(h.layer.stats().server).toBe(0);
  });

  it('505 for another SIP version (RFC 4475 badvers)', () => {
    const h = harness();
    const raw = readFileSync(new URL('badvers.dat', FIXTURES)).toString('latin1');
    h.transport.deliver(raw);
    expect(h.transport.responses(505)).toHaveLength(1);
    expect(h.transport.responses(505)[0]!.version).toBe('SIP/2.0');
  });

  it('drops responses, ACKs and requests without a Via to answer on', () => {
    const h = harness();
    h.transport.deliver(inRequest('ACK').replace('Max-Forwards: 70', 'Max-Forwards: x'));
    h.transport.deliver(inRequest('INVITE').replace(/Via:[^\r]*\r\n/, ''));
    h.transport.deliver('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCSeq: x\r\n\r\n');
    h.transport.deliver('garbage\r\n\r\n');
    expect(h.transport.sent).toHaveLength(0);
    expect(h.tu.parseErrors.map((p) => p.answered)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('RFC 4475 §3.3.1 (insuf): a request missing To/From/Call-ID still gets its 400', () => {
    const h = harness();
    h.transport.deliver(inRequest('INVITE').replace(/Call-ID:[^\r]*\r\n/, ''));
    expect(h.transport.responses(400)).toHaveLength(1);
    expect(h.tu.parseErrors.map((p) => p.answered)).toEqual([400]);
  });

  it('the reason phrase is sanitised and bounded', () => {
    const h = harness();
    const bad = inRequest('OPTIONS').replace('Max-Forwards: 70', `Max-Forwards: ${'9'.repeat(300)}\u00ff`);
    h.transport.deliver(bad);
    const res = h.transport.responses(400)[0]!;
    expect(res.reason.length).toBeLessThanOrEqual(120);
    expect(res.reason).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('TU protection and lifecycle', () => {
  it('no TU yet: requests get 503 through a transaction', () => {
    const clock = new FakeClock();
    const transport = new FakeTransport(clock);
    const layer = new TransactionLayer(transport, { clock });
    transport.deliver(inRequest('OPTIONS'));
    expect(transport.responses(503)).toHaveLength(1);
    clock.runAll();
    expect(layer.stats().server).toBe(0);
  });

  it('a TU that throws in onRequest: the request gets 500 and the error is published', () => {
    const h = harness();
    const errors: unknown[] = [];
    const onErr = (m: unknown) => errors.push(m);
    subscribe('stirgate:transaction:handler_error', onErr);
    try {
      h.tu.onNew = () => {
        throw new Error('tu bug');
      };
      h.transport.deliver(inRequest('INVITE'));
      expect(h.transport.responses(500)).toHaveLength(1);
      expect(errors).toEqual([expect.objectContaining({ where: 'onRequest' })]);
    } finally {
      unsubscribe('stirgate:transaction:handler_error', onErr);
    }
    h.layer.close();
  });

  it('a throwing event listener does not stop the state machine (timers still released)', () => {
    const h = harness();
    const onErr = () => {};
    subscribe('stirgate:transaction:handler_error', onErr);
    try {
      const req = outRequest('INVITE');
      const tx = h.layer.sendRequest(req, target());
      let second = 0;
      tx.on('response', () => {
        throw new Error('listener bug');
      });
      tx.on('response', () => second++);
      h.transport.deliver(responseTo(req, 486));
      expect(second).toBe(1);
      expect(h.transport.requests('ACK')).toHaveLength(1);
      h.clock.runAll();
      expect(h.layer.stats().client).toBe(0);
    } finally {
      unsubscribe('stirgate:transaction:handler_error', onErr);
    }
  });

  it('close() terminates everything silently, clears every timer and unsubscribes', () => {
    const h = harness();
    const tx = h.layer.sendRequest(outRequest('INVITE'), target());
    let terminated = 0;
    tx.on('terminated', () => terminated++);
    h.layer.sendRequest(outRequest('OPTIONS'), target());
    h.transport.deliver(inRequest('INVITE'));
    h.transport.deliver(inRequest('MESSAGE'));
    expect(h.layer.stats()).toEqual({ client: 2, server: 2, awaitingAck: 0 });
    expect(h.clock.pending).toBeGreaterThan(0);
    h.layer.close();
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
    expect(h.clock.pending).toBe(0);
    expect(terminated).toBe(0);
    expect(h.transport.subscribed).toBe(false);
    expect(() => h.layer.sendRequest(outRequest('OPTIONS'), target())).toThrow(
      expect.objectContaining({ code: 'closed' }),
    );
    h.layer.close(); // idempotent
  });

  it('sendAck stamps a new branch once and re-sends the same ACK unchanged', async () => {
    const h = harness();
    const ack = outRequest('ACK', { toTag: 'dlg' });
    await h.layer.sendAck(ack, target('tcp'));
    await h.layer.sendAck(ack, target('tcp'));
    const sent = h.transport.requests('ACK');
    expect(sent).toHaveLength(2);
    expect(sent[0]!.getAll('via')).toHaveLength(1);
    expect(sent[0]!.topVia!.transport).toBe('TCP');
    expect(sent[0]!.topVia!.branch).toMatch(/^z9hG4bK/);
    expect(sent[1]!.topVia!.branch).toBe(sent[0]!.topVia!.branch);
    expect(h.layer.stats().client).toBe(0);
    await expect(h.layer.sendAck(outRequest('BYE'), target())).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('refuses to advertise a wildcard address unless viaHost is set; brackets IPv6', () => {
    const h = harness();
    h.transport.local = { address: '0.0.0.0', port: 5060 };
    expect(() => h.layer.sendRequest(outRequest('OPTIONS'), target())).toThrow(
      expect.objectContaining({ code: 'no_local_address' }),
    );
    const h2 = harness({ viaHost: '2001:db8::5' });
    h2.transport.local = { address: '::', port: 5062 };
    h2.layer.sendRequest(outRequest('OPTIONS'), target());
    expect(h2.transport.sent[0]!.message.get('via')).toMatch(
      /^SIP\/2\.0\/UDP \[2001:db8::5\]:5062;branch=z9hG4bK\w+;rport$/,
    );
    h2.layer.close();
  });

  it('publishes diagnostics only to subscribers, with low-cardinality labels', () => {
    const h = harness();
    const events: [string, unknown][] = [];
    const names = ['created', 'terminated', 'retransmit', 'timeout'].map((n) => `stirgate:transaction:${n}`);
    const fns = names.map((n) => {
      const fn = (m: unknown) => events.push([n, m]);
      subscribe(n, fn);
      return fn;
    });
    try {
      h.layer.sendRequest(outRequest('FOOBAR'), target());
      h.clock.runAll();
    } finally {
      names.forEach((n, i) => {
        unsubscribe(n, fns[i]!);
      });
    }
    expect(events[0]).toEqual([
      'stirgate:transaction:created',
      { side: 'client', method: 'other', protocol: 'udp' },
    ]);
    expect(events.filter(([n]) => n.endsWith(':retransmit'))).toHaveLength(10);
    expect(events.find(([n]) => n.endsWith(':timeout'))![1]).toMatchObject({ timer: 'F' });
    expect(events.at(-1)).toEqual([
      'stirgate:transaction:terminated',
      { side: 'client', method: 'other', protocol: 'udp', cause: 'timeout', durationMs: 32_000 },
    ]);
  });
});

describe('soak: counts return to zero', () => {
  it('hundreds of mixed transactions leave no map entry and no timer', async () => {
    const h = harness();
    h.tu.onNew = (req, tx) => {
      if (req.method === 'INVITE') {
        tx.respond(createResponse(req, 180, undefined, { toTag: 't' }));
        if (Number(req.callId.split('-')[1]) % 2 === 0) {
          tx.respondReliably2xx(createResponse(req, 200, undefined, { toTag: 't' }));
        } else {
          tx.respond(createResponse(req, 486, undefined, { toTag: 't' }));
        }
      } else {
        tx.respond(createResponse(req, 200, undefined, { toTag: 't' }));
      }
    };
    for (let i = 0; i < 200; i++) {
      const flow = i % 3 === 0 ? tcpFlow(i) : udpFlow();
      const callId = `c-${i}`;
      h.transport.deliver(inRequest('INVITE', { branch: `z9hG4bKinv${i}`, callId }), flow);
      if (i % 5 === 0) h.transport.deliver(inRequest('CANCEL', { branch: `z9hG4bKinv${i}`, callId }), flow);
      if (i % 2 === 0) {
        h.transport.deliver(
          inRequest('ACK', { branch: `z9hG4bKack${i}`, callId, toTag: 't', cseqMethod: 'ACK' }),
          flow,
        );
      } else {
        h.transport.deliver(
          inRequest('ACK', { branch: `z9hG4bKinv${i}`, callId, toTag: 't', cseqMethod: 'ACK' }),
          flow,
        );
      }
      h.transport.deliver(inRequest('BYE', { branch: `z9hG4bKbye${i}`, callId, toTag: 't', seq: 2 }), flow);
      const req = outRequest(i % 2 === 0 ? 'INVITE' : 'OPTIONS');
      const tx = h.layer.sendRequest(req, target(i % 3 === 0 ? 'tcp' : 'udp'));
      if (i % 4 === 0) {
        h.transport.deliver(responseTo(req, 180));
        tx.cancel();
      }
      if (i % 7 !== 0) h.transport.deliver(responseTo(req, i % 2 === 0 ? 200 : 404));
      h.clock.advance(37);
    }
    await flush();
    expect(h.layer.stats().server + h.layer.stats().client).toBeGreaterThan(0);
    h.clock.runAll(100_000);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
    expect(h.clock.pending).toBe(0);
  });
});

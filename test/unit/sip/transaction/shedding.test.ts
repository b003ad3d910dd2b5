import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/build.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import type {
  ClientTransaction,
  ServerTransaction,
  TransactionUser,
} from '../../../../src/sip/transaction/types.js';
import {
  type Harness,
  harness,
  inRequest,
  outRequest,
  responseTo,
  type Sent,
  target,
  tcpFlow,
} from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Whether every target is gone after a full GC. Waits for the next turn first: a WeakRef target created
 * or read in the current job is kept alive until the job ends.
 */
async function collected(...refs: WeakRef<object>[]): Promise<boolean> {
  await new Promise<void>((r) => setImmediate(r));
  gc();
  return refs.every((r) => r.deref() === undefined);
}

/** A TU that answers through `onNew` and keeps no message (the B2BUA keeps its own). */
class ForgetfulUser implements TransactionUser {
  acks = 0;
  requests = 0;
  strays = 0;
  constructor(readonly onNew: (req: SipRequest, tx: ServerTransaction) => void = () => {}) {}
  onRequest(req: SipRequest, tx: ServerTransaction): void {
    this.requests++;
    this.onNew(req, tx);
  }
  onAck(): void {
    this.acks++;
  }
  onCancel(): void {}
  onStrayResponse(): void {
    this.strays++;
  }
}

function setUp(onNew?: (req: SipRequest, tx: ServerTransaction) => void): Harness & { user: ForgetfulUser } {
  const h = harness();
  h.transport.recordCopies = true;
  const user = new ForgetfulUser(onNew);
  h.layer.setUser(user);
  return { ...h, user };
}

const isStatus = (s: number) => (x: Sent) =>
  !x.message.isRequest() && (x.message as SipResponse).status === s;
const isMethod = (m: string) => (x: Sent) => x.message.isRequest() && (x.message as SipRequest).method === m;

/** The octets of every send matching `pred`, first transmission included. */
function wires(h: Harness, pred: (x: Sent) => boolean): Buffer[] {
  return h.transport.sent.filter(pred).map((x) => x.wire as Buffer);
}

function expectIdentical(all: Buffer[], count: number): void {
  expect(all).toHaveLength(count);
  for (const w of all.slice(1)) expect(w.equals(all[0] as Buffer)).toBe(true);
}

function expectReleased(tx: ServerTransaction | ClientTransaction): void {
  expect(() => tx.request).toThrow(expect.objectContaining({ code: 'request_released' }));
}

describe('INVITE server transaction sheds its messages (RFC 3261 §17.2.1, RFC 6026 §7.1)', () => {
  it('Accepted + ACK: holds neither the INVITE, the provisional nor the 2xx until Timer L', async () => {
    let tx: ServerTransaction | undefined;
    let invite: SipRequest | undefined;
    let inviteRef: WeakRef<SipRequest> | undefined;
    let ringingRef: WeakRef<SipResponse> | undefined;
    const h = setUp((req, t) => {
      tx = t;
      invite = req;
      inviteRef = new WeakRef(req);
      const ringing = createResponse(req, 180, undefined, { toTag: 'uas' });
      ringingRef = new WeakRef(ringing);
      t.respond(ringing);
    });
    h.transport.deliver(inRequest('INVITE'));
    // RFC 3261 §17.2.1: the retransmission gets the 180 again, as bytes; the object is not needed after.
    h.transport.deliver(inRequest('INVITE'));
    expectIdentical(wires(h, isStatus(180)), 2);
    expect(await collected(ringingRef!)).toBe(true);

    const okRef = ((): WeakRef<SipResponse> => {
      const ok = createResponse(invite!, 200, undefined, { toTag: 'uas' });
      tx!.respondReliably2xx(ok);
      return new WeakRef(ok);
    })();
    invite = undefined;
    expect(tx!.state).toBe('accepted');
    expectReleased(tx!);
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack', toTag: 'uas', cseqMethod: 'ACK' }));
    expect(h.user.acks).toBe(1);
    expect(await collected(inviteRef!, okRef)).toBe(true);

    // RFC 6026 §7.1: retransmitted INVITEs are still absorbed by matching alone; no 2xx retransmission.
    const sent = h.transport.sent.length;
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(4000);
    expect(h.user.requests).toBe(1);
    expect(h.transport.sent).toHaveLength(sent);
    h.clock.advance(h.layer.timers.l);
    expect(tx!.state).toBe('terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
  });

  it('Accepted, 2xx not yet ACKed: retransmits identical bytes and holds the 2xx only as bytes', async () => {
    let tx: ServerTransaction | undefined;
    let okRef: WeakRef<SipResponse> | undefined;
    const h = setUp((req, t) => {
      tx = t;
      const ok = createResponse(req, 200, undefined, { toTag: 'uas' });
      okRef = new WeakRef(ok);
      t.respondReliably2xx(ok);
    });
    h.transport.deliver(inRequest('INVITE'));
    h.clock.advance(1600); // RFC 3261 §13.3.1.4: T1, 2*T1
    expectIdentical(wires(h, isStatus(200)), 3);
    expect(await collected(okRef!)).toBe(true);
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack', toTag: 'uas', cseqMethod: 'ACK' }));
    h.clock.advance(10_000);
    expect(wires(h, isStatus(200))).toHaveLength(3);
    expect(tx!.state).toBe('accepted');
    h.layer.close();
  });

  it('Completed on UDP: keeps the final as bytes — Timer G and retransmitted INVITEs resend them', async () => {
    let tx: ServerTransaction | undefined;
    const refs: WeakRef<object>[] = [];
    const h = setUp((req, t) => {
      tx = t;
      const busy = createResponse(req, 486, undefined, { toTag: 'uas' });
      refs.push(new WeakRef(req), new WeakRef(busy));
      t.respond(busy);
    });
    h.transport.deliver(inRequest('INVITE'));
    expect(tx!.state).toBe('completed');
    expectReleased(tx!);
    expect(await collected(...refs)).toBe(true);
    h.clock.advance(1600); // Timer G: 500, 1500
    h.transport.deliver(inRequest('INVITE'));
    expectIdentical(wires(h, isStatus(486)), 4);
    h.transport.deliver(inRequest('ACK', { toTag: 'uas', cseqMethod: 'ACK' }));
    expect(tx!.state).toBe('confirmed');
    h.clock.advance(h.layer.timers.t4);
    expect(tx!.state).toBe('terminated');
    expect(wires(h, isStatus(486))).toHaveLength(4);
  });

  it('Completed on TCP: keeps nothing (no Timer G); the ACK still ends it', async () => {
    let tx: ServerTransaction | undefined;
    const refs: WeakRef<object>[] = [];
    const h = setUp((req, t) => {
      tx = t;
      const busy = createResponse(req, 486, undefined, { toTag: 'uas' });
      refs.push(new WeakRef(req), new WeakRef(busy));
      t.respond(busy);
    });
    h.transport.deliver(inRequest('INVITE'), tcpFlow(3));
    expect(tx!.state).toBe('completed');
    expect(await collected(...refs)).toBe(true);
    h.transport.deliver(inRequest('ACK', { toTag: 'uas', cseqMethod: 'ACK' }), tcpFlow(3));
    expect(tx!.state).toBe('terminated');
    expect(h.layer.stats().server).toBe(0);
  });

  it('RFC 2543 peers: retransmissions and CANCEL still match by the To tag after the request is shed', () => {
    let tx: ServerTransaction | undefined;
    const h = setUp((req, t) => {
      tx = t;
      t.respond(createResponse(req, 486, undefined, { toTag: 'uas' }));
    });
    h.transport.deliver(inRequest('INVITE', { branch: null }));
    h.transport.deliver(inRequest('INVITE', { branch: null }));
    expect(h.user.requests).toBe(1);
    expectIdentical(wires(h, isStatus(486)), 2);
    h.transport.deliver(inRequest('CANCEL', { branch: null }));
    const ok = h.transport.sent.filter(isStatus(200)).map((x) => x.message as SipResponse);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.to.tag).toBe('uas'); // RFC 3261 §9.2: matched the INVITE transaction
    expect(tx!.state).toBe('completed');
    h.layer.close();
  });
});

describe('non-INVITE server transaction sheds its messages (RFC 3261 §17.2.2)', () => {
  it('Completed on UDP: keeps only the final bytes until Timer J; retransmissions get identical bytes', async () => {
    let tx: ServerTransaction | undefined;
    const refs: WeakRef<object>[] = [];
    const h = setUp((req, t) => {
      tx = t;
      const ok = createResponse(req, 200, undefined, { toTag: 'uas' });
      refs.push(new WeakRef(req), new WeakRef(ok));
      t.respond(ok);
    });
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    expect(tx!.state).toBe('completed');
    expectReleased(tx!);
    expect(await collected(...refs)).toBe(true);
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    expectIdentical(wires(h, isStatus(200)), 3);
    expect(h.user.requests).toBe(1);
    h.clock.advance(h.layer.timers.j);
    expect(tx!.state).toBe('terminated');
  });

  it('Proceeding: the provisional is held as bytes once a retransmission needed them', async () => {
    let tx: ServerTransaction | undefined;
    let trying: WeakRef<SipResponse> | undefined;
    const h = setUp((req, t) => {
      tx = t;
      const res = createResponse(req, 100);
      trying = new WeakRef(res);
      t.respond(res);
    });
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    expectIdentical(wires(h, isStatus(100)), 2);
    expect(tx!.state).toBe('proceeding');
    expect(await collected(trying!)).toBe(true);
    h.transport.deliver(inRequest('INFO', { toTag: 'x' }));
    expectIdentical(wires(h, isStatus(100)), 3);
    expect(tx!.request.method).toBe('INFO'); // still held while Proceeding
    h.layer.close();
  });
});

/** Send `method` without the test holding the request; the transport's copy stands in for it. */
function send(h: Harness, method: string, protocol: 'udp' | 'tcp' = 'udp') {
  const refs: WeakRef<object>[] = [];
  const tx = ((): ClientTransaction => {
    const req = outRequest(method);
    refs.push(new WeakRef(req));
    return h.layer.sendRequest(req, target(protocol));
  })();
  const copy = h.transport.sent[h.transport.sent.length - 1]!.message as SipRequest;
  const responses: WeakRef<SipResponse>[] = [];
  tx.on('response', (res) => responses.push(new WeakRef(res)));
  return { tx, copy, refs, responses };
}

describe('INVITE client transaction sheds its messages (RFC 3261 §17.1.1, RFC 6026 §7.2)', () => {
  it('Accepted: holds neither the INVITE nor the responses; 2xx retransmissions still reach the TU', async () => {
    const h = setUp();
    const { tx, copy, refs, responses } = send(h, 'INVITE');
    h.transport.deliver(responseTo(copy, 180, 'uas'));
    expect(tx.request.method).toBe('INVITE'); // held while Proceeding (CANCEL)
    h.transport.deliver(responseTo(copy, 200, 'uas'));
    expect(tx.state).toBe('accepted');
    expectReleased(tx);
    expect(await collected(...refs, ...responses)).toBe(true);
    let passed = 0;
    tx.on('response', () => passed++);
    h.transport.deliver(responseTo(copy, 200, 'uas'));
    expect(passed).toBe(1);
    h.clock.advance(h.layer.timers.m);
    expect(tx.state).toBe('terminated');
  });

  it('Completed on UDP: keeps only the ACK bytes; each retransmitted final gets identical ones', async () => {
    const h = setUp();
    const { tx, copy, refs, responses } = send(h, 'INVITE');
    h.transport.deliver(responseTo(copy, 486, 'uas'));
    expect(tx.state).toBe('completed');
    expectReleased(tx);
    expect(await collected(...refs, ...responses)).toBe(true);
    h.transport.deliver(responseTo(copy, 486, 'uas'));
    h.transport.deliver(responseTo(copy, 486, 'uas'));
    expectIdentical(wires(h, isMethod('ACK')), 3);
    expect(h.transport.sent.filter(isMethod('ACK')).map((x) => x.bytes)).toEqual([false, true, true]);
    h.clock.advance(h.layer.timers.d);
    expect(tx.state).toBe('terminated');
  });

  it('CANCEL is still built from the INVITE while Proceeding', () => {
    const h = setUp();
    const { tx, copy } = send(h, 'INVITE');
    h.transport.deliver(responseTo(copy, 180, 'uas'));
    tx.cancel();
    const cancel = h.transport.sent.filter(isMethod('CANCEL'));
    expect(cancel).toHaveLength(1);
    expect((cancel[0]!.message as SipRequest).topVia!.branch).toBe(tx.id);
    h.layer.close();
  });
});

describe('non-INVITE client transaction sheds its messages (RFC 3261 §17.1.2)', () => {
  it('Completed: holds nothing until Timer K; response retransmissions are absorbed', async () => {
    const h = setUp();
    const { tx, copy, refs, responses } = send(h, 'BYE');
    h.clock.advance(500); // Timer E: one retransmission, as bytes
    expectIdentical(wires(h, isMethod('BYE')), 2);
    h.transport.deliver(responseTo(copy, 200, 'uas'));
    expect(tx.state).toBe('completed');
    expectReleased(tx);
    expect(await collected(...refs, ...responses)).toBe(true);
    let passed = 0;
    tx.on('response', () => passed++);
    h.transport.deliver(responseTo(copy, 200, 'uas'));
    expect(passed).toBe(0);
    expect(h.user.strays).toBe(0);
    h.clock.advance(h.layer.timers.k);
    expect(tx.state).toBe('terminated');
  });
});

describe('wait states do not keep the header text of released messages', () => {
  // The parser cuts values from the message's whole header text; a kept slice (branch, tag, address)
  // would hold all of it. 28 KB of padding per request makes a leak plain next to the ~3 KB a waiting
  // transaction (maps, timers, listeners) costs.
  const pad = Array.from({ length: 4 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(7000)}`).join('\r\n');
  const padded = (method: string, i: number, o: Parameters<typeof inRequest>[1] = {}) =>
    inRequest(method, {
      callId: `call-id-${i}-0123456789@example.com`,
      branch: `z9hG4bK-branch-0123456789-${i}`,
      fromTag: `from-tag-0123456789-${i}`,
      sentBy: 'host-name-0123456789.example.com:5070',
      ...o,
    }).replace('Max-Forwards: 70', `Max-Forwards: 70\r\n${pad}`);

  async function heapPerTransaction(
    onNew: (req: SipRequest, tx: ServerTransaction) => void,
    run: (h: Harness, i: number) => void,
  ): Promise<number> {
    const n = 200;
    const h = setUp(onNew);
    const base = await heapUsed();
    for (let i = 0; i < n; i++) {
      run(h, i);
      h.transport.sent.length = 0;
    }
    const used = (await heapUsed()) - base;
    expect(h.layer.stats().server).toBe(n);
    h.layer.close();
    return used / n;
  }

  async function heapUsed(): Promise<number> {
    await new Promise<void>((r) => setImmediate(r));
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  }

  const toTag = (req: SipRequest) => `to-tag-0123456789-${req.cseq.seq}`;

  it('INVITE Accepted + ACK, INVITE Completed, BYE Completed', async () => {
    // A first round, not measured: the code paths' first run allocates (feedback vectors, compiled code,
    // lazily built tables) and that would be charged to whichever state is measured first.
    await heapPerTransaction(
      (req, tx) => tx.respondReliably2xx(createResponse(req, 200, undefined, { toTag: toTag(req) })),
      (h, i) => {
        h.transport.deliver(padded('INVITE', i, { seq: i }));
        h.transport.deliver(
          padded('ACK', i, {
            seq: i,
            cseqMethod: 'ACK',
            branch: `z9hG4bKack${i}`,
            toTag: toTag({ cseq: { seq: i } } as SipRequest),
          }),
        );
      },
    );
    const perTx = {
      accepted: await heapPerTransaction(
        (req, tx) => tx.respondReliably2xx(createResponse(req, 200, undefined, { toTag: toTag(req) })),
        (h, i) => {
          h.transport.deliver(padded('INVITE', i, { seq: i }));
          const ack = {
            seq: i,
            cseqMethod: 'ACK',
            branch: `z9hG4bKack${i}`,
            toTag: `to-tag-0123456789-${i}`,
          };
          h.transport.deliver(padded('ACK', i, ack));
        },
      ),
      completed: await heapPerTransaction(
        (req, tx) => tx.respond(createResponse(req, 486, undefined, { toTag: toTag(req) })),
        (h, i) => h.transport.deliver(padded('INVITE', i, { seq: i })),
      ),
      bye: await heapPerTransaction(
        (req, tx) => tx.respond(createResponse(req, 200, undefined, { toTag: toTag(req) })),
        (h, i) => h.transport.deliver(padded('BYE', i, { seq: i, toTag: 'x' })),
      ),
    };
    if (process.env.STIRGATE_SHOW_HEAP) console.log(perTx);
    for (const [state, bytes] of Object.entries(perTx)) expect(bytes, state).toBeLessThan(10_000);
  });
});

describe('wait states drop the listeners of events they can no longer emit', () => {
  // A TU's listener usually closes over its call; a transaction waiting 64*T1 (RFC 6026 Timer L/M, RFC 3261
  // Timer J) must not keep that call alive after it has ended. Each listener here closes over an object of
  // its own, so a WeakRef to that object says whether the transaction still holds the listener.
  function listener(): { fn: () => void; ref: WeakRef<object> } {
    const state = { call: 'held by the listener' };
    return { fn: () => void state.call, ref: new WeakRef(state) };
  }
  function listen<E extends string>(
    tx: { on(event: E, fn: () => void): unknown },
    events: readonly E[],
  ): Record<E, WeakRef<object>> {
    const refs = {} as Record<E, WeakRef<object>>;
    for (const e of events) {
      const l = listener();
      tx.on(e, l.fn);
      refs[e] = l.ref;
    }
    return refs;
  }
  const CLIENT = ['response', 'timeout', 'transportError'] as const;
  const SERVER = ['timeout', 'transportError', 'ack', 'ackTimeout', 'cancel'] as const;

  it('non-INVITE client, Completed: none but terminated; terminated still fires after Timer K', async () => {
    const h = setUp();
    const { tx, copy } = send(h, 'BYE');
    const refs = listen(tx, CLIENT);
    let terminated = 0;
    tx.on('terminated', () => terminated++);
    h.transport.deliver(responseTo(copy, 200, 'uas'));
    expect(tx.state).toBe('completed');
    expect(await collected(refs.response, refs.timeout, refs.transportError)).toBe(true);
    h.clock.advance(h.layer.timers.k);
    expect(terminated).toBe(1);
  });

  it('INVITE client: Accepted keeps response (2xx retransmissions); Completed keeps transportError', async () => {
    const h = setUp();
    const accepted = send(h, 'INVITE');
    const a = listen(accepted.tx, CLIENT);
    h.transport.deliver(responseTo(accepted.copy, 200, 'uas'));
    expect(accepted.tx.state).toBe('accepted');
    expect(await collected(a.timeout, a.transportError)).toBe(true);
    expect(await collected(a.response)).toBe(false);

    const completed = send(h, 'INVITE');
    const c = listen(completed.tx, CLIENT);
    h.transport.deliver(responseTo(completed.copy, 486, 'uas'));
    expect(completed.tx.state).toBe('completed');
    expect(await collected(c.response, c.timeout)).toBe(true);
    expect(await collected(c.transportError)).toBe(false);
    h.layer.close();
  });

  it('INVITE server: Accepted keeps ack until the ACK; Completed keeps timeout until the ACK', async () => {
    const txs: ServerTransaction[] = [];
    const h = setUp((_req, t) => txs.push(t));
    h.transport.deliver(inRequest('INVITE'));
    const ok = txs[0]!;
    const a = listen(ok, SERVER);
    ok.respond(createResponse(ok.request, 200, undefined, { toTag: 'uas' }));
    expect(ok.state).toBe('accepted');
    expect(await collected(a.timeout, a.cancel)).toBe(true);
    expect(await collected(a.ack)).toBe(false);
    h.transport.deliver(inRequest('ACK', { branch: 'z9hG4bKack', toTag: 'uas', cseqMethod: 'ACK' }));
    expect(h.user.acks).toBe(1);
    expect(await collected(a.ack, a.ackTimeout)).toBe(true);
    expect(await collected(a.transportError)).toBe(false); // a 2xx the TU re-sends can still fail

    h.transport.deliver(inRequest('INVITE', { branch: 'z9hG4bKbusy', callId: 'busy' }));
    const busy = txs[1]!;
    const b = listen(busy, SERVER);
    busy.respond(createResponse(busy.request, 486, undefined, { toTag: 'uas' }));
    expect(busy.state).toBe('completed');
    expect(await collected(b.ack, b.ackTimeout, b.cancel)).toBe(true);
    expect(await collected(b.timeout)).toBe(false); // Timer H
    h.transport.deliver(
      inRequest('ACK', { branch: 'z9hG4bKbusy', callId: 'busy', toTag: 'uas', cseqMethod: 'ACK' }),
    );
    expect(busy.state).toBe('confirmed');
    expect(await collected(b.timeout, b.transportError)).toBe(true);
    h.layer.close();
  });

  it('non-INVITE server, Completed: keeps transportError only (the final is re-sent until Timer J)', async () => {
    let tx: ServerTransaction | undefined;
    const h = setUp((_req, t) => {
      tx = t;
    });
    h.transport.deliver(inRequest('BYE', { toTag: 'x' }));
    const refs = listen(tx!, SERVER);
    tx!.respond(createResponse(tx!.request, 200, undefined, { toTag: 'x' }));
    expect(tx!.state).toBe('completed');
    expect(await collected(refs.timeout)).toBe(true);
    expect(await collected(refs.transportError)).toBe(false);
    h.layer.close();
  });
});

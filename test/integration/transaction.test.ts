import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse } from '../../src/sip/message/build.js';
import { SipRequest, type SipResponse } from '../../src/sip/message/message.js';
import { TransactionLayer } from '../../src/sip/transaction/transaction-layer.js';
import type { ServerTransaction, TransactionUser } from '../../src/sip/transaction/types.js';
import { TransportLayer } from '../../src/sip/transport/transport-layer.js';
import type { Endpoint, Flow, Target, TransportProtocol } from '../../src/sip/transport/types.js';

// Short timers keep every wait (Timer F, L, M, ...) well under a second: 64*T1 = 640 ms.
const TIMERS = { t1Ms: 10, t2Ms: 40, t4Ms: 50 };

interface Side {
  readonly transport: TransportLayer;
  readonly layer: TransactionLayer;
  readonly udp: Endpoint;
  readonly tcp: Endpoint;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function side(): Promise<Side> {
  const transport = new TransportLayer();
  const [udp, tcp] = await transport.listen([
    { protocol: 'udp', address: '127.0.0.1', port: 0 },
    { protocol: 'tcp', address: '127.0.0.1', port: 0 },
  ]);
  const layer = new TransactionLayer(transport, { timers: TIMERS });
  cleanups.push(async () => {
    layer.close();
    await transport.close();
  });
  return { transport, layer, udp: udp!, tcp: tcp! };
}

function targetOf(s: Side, protocol: TransportProtocol): Target {
  return { protocol, remote: protocol === 'udp' ? s.udp : s.tcp };
}

let seq = 0;

function request(method: string, to: Side, protocol: TransportProtocol): SipRequest {
  const remote = protocol === 'udp' ? to.udp : to.tcp;
  const req = new SipRequest(method, `sip:bob@${remote.address}:${remote.port};transport=${protocol}`);
  req.append('max-forwards', '70');
  req.append('from', `<sip:alice@example.com>;tag=a${++seq}`);
  req.append('to', '<sip:bob@example.com>');
  req.append('call-id', `it-${seq}-${Date.now()}@127.0.0.1`);
  req.append('cseq', `1 ${method}`);
  return req;
}

/** The ACK for a 2xx, built by the UAC core (RFC 3261 §13.2.2.4). */
function ackFor(invite: SipRequest, ok: SipResponse): SipRequest {
  const ack = new SipRequest('ACK', invite.uri);
  ack.append('max-forwards', '70');
  ack.append('from', invite.get('from')!);
  ack.append('to', ok.get('to')!);
  ack.append('call-id', invite.callId);
  ack.append('cseq', `${invite.cseq.seq} ACK`);
  return ack;
}

function user(partial: Partial<TransactionUser>): TransactionUser {
  return {
    onRequest: () => {},
    onAck: () => {},
    onCancel: () => {},
    onStrayResponse: () => {},
    ...partial,
  };
}

/** Poll until `cond` holds (bounded): the real transport and real timers are in play. */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function idle(s: Side): boolean {
  const st = s.layer.stats();
  return st.client === 0 && st.server === 0 && st.awaitingAck === 0;
}

describe.each(['udp', 'tcp'] as const)('transactions over the real TransportLayer (%s)', (protocol) => {
  it('INVITE: 180, reliable 200, ACK; both layers drain to zero', async () => {
    const uac = await side();
    const uas = await side();
    let serverTx: ServerTransaction | undefined;
    const serverAcks: SipRequest[] = [];
    let txAcked = 0;
    let ackTimeouts = 0;
    uas.layer.setUser(
      user({
        onRequest: (req, tx, flow: Flow) => {
          expect(flow.protocol).toBe(protocol);
          serverTx = tx;
          tx.on('ack', () => txAcked++);
          tx.on('ackTimeout', () => ackTimeouts++);
          tx.respond(createResponse(req, 180, undefined, { toTag: 'uas-tag' }));
          tx.respondReliably2xx(createResponse(req, 200, undefined, { toTag: 'uas-tag' }));
        },
        onAck: (ack) => serverAcks.push(ack),
      }),
    );
    const strays: SipResponse[] = [];
    uac.layer.setUser(user({ onStrayResponse: (r) => strays.push(r) }));

    const invite = request('INVITE', uas, protocol);
    const tx = uac.layer.sendRequest(invite, targetOf(uas, protocol));
    const statuses: number[] = [];
    let ack: SipRequest | undefined;
    tx.on('response', (res) => {
      statuses.push(res.status);
      if (res.status === 200) {
        ack ??= ackFor(invite, res);
        void uac.layer.sendAck(ack, targetOf(uas, protocol));
      }
    });
    await until(() => serverAcks.length > 0);
    expect(statuses.filter((s) => s < 200)).toContain(180);
    expect(statuses).toContain(200);
    expect(tx.state).toBe('accepted');
    expect(serverTx!.state).toBe('accepted');
    expect(txAcked).toBe(1);
    expect(serverAcks[0]!.to.tag).toBe('uas-tag');
    expect(serverAcks[0]!.topVia!.branch).not.toBe(tx.id);
    expect(tx.flow?.protocol).toBe(protocol);
    if (protocol === 'tcp') expect(tx.flow?.connectionId).toBeDefined();

    await until(() => idle(uac) && idle(uas));
    expect(ackTimeouts).toBe(0);
    expect(tx.state).toBe('terminated');
    expect(serverTx!.state).toBe('terminated');
  });

  it('INVITE rejected: 486 ACKed by the client transaction, server confirmed', async () => {
    const uac = await side();
    const uas = await side();
    const states: string[] = [];
    uas.layer.setUser(
      user({
        onRequest: (req, tx) => {
          tx.respond(createResponse(req, 486, undefined, { toTag: 'busy' }));
          states.push(tx.state);
          tx.on('terminated', () => states.push('terminated'));
        },
      }),
    );
    uac.layer.setUser(user({}));
    const tx = uac.layer.sendRequest(request('INVITE', uas, protocol), targetOf(uas, protocol));
    const got: number[] = [];
    tx.on('response', (r) => got.push(r.status));
    await until(() => got.includes(486));
    await until(() => idle(uac) && idle(uas));
    expect(got.filter((s) => s === 486)).toHaveLength(1);
    expect(states).toEqual(['completed', 'terminated']);
  });

  it('non-INVITE pair: OPTIONS answered 200 by the TU', async () => {
    const uac = await side();
    const uas = await side();
    uas.layer.setUser(
      user({ onRequest: (req, tx) => tx.respond(createResponse(req, 200, undefined, { toTag: 'opt' })) }),
    );
    uac.layer.setUser(user({}));
    const tx = uac.layer.sendRequest(request('OPTIONS', uas, protocol), targetOf(uas, protocol));
    const got: number[] = [];
    let terminated = false;
    tx.on('response', (r) => got.push(r.status));
    tx.on('terminated', () => {
      terminated = true;
    });
    await until(() => terminated);
    expect(got).toEqual([200]);
    await until(() => idle(uac) && idle(uas));
  });

  it('CANCEL of a ringing INVITE: 200 for the CANCEL, 487 for the INVITE', async () => {
    const uac = await side();
    const uas = await side();
    uas.layer.setUser(
      user({
        onRequest: (req, tx) => tx.respond(createResponse(req, 180, undefined, { toTag: 'r' })),
        onCancel: (_c, tx) => {
          if (tx?.state === 'proceeding')
            tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'r' }));
        },
      }),
    );
    uac.layer.setUser(user({}));
    const tx = uac.layer.sendRequest(request('INVITE', uas, protocol), targetOf(uas, protocol));
    const got: number[] = [];
    tx.on('response', (r) => {
      got.push(r.status);
      if (r.status === 180) tx.cancel();
    });
    await until(() => got.includes(487));
    await until(() => idle(uac) && idle(uas));
  });
});

describe('Timer F against a silent UDP port', () => {
  let silent: Socket | undefined;
  afterEach(() => {
    silent?.close();
    silent = undefined;
  });

  it('retransmits with Timer E and times out at 64*T1', async () => {
    const uac = await side();
    uac.layer.setUser(user({}));
    silent = createSocket('udp4');
    const s = silent;
    let received = 0;
    s.on('message', () => received++);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const port = s.address().port;
    const req = new SipRequest('OPTIONS', `sip:nobody@127.0.0.1:${port}`);
    req.append('max-forwards', '70');
    req.append('from', '<sip:alice@example.com>;tag=f');
    req.append('to', '<sip:nobody@example.com>');
    req.append('call-id', `timer-f-${Date.now()}`);
    req.append('cseq', '1 OPTIONS');
    const started = Date.now();
    const tx = uac.layer.sendRequest(req, { protocol: 'udp', remote: { address: '127.0.0.1', port } });
    let timedOutAt = 0;
    tx.on('timeout', () => {
      timedOutAt = Date.now();
    });
    await until(() => timedOutAt > 0);
    const elapsed = timedOutAt - started;
    expect(elapsed).toBeGreaterThanOrEqual(64 * TIMERS.t1Ms - 5);
    expect(elapsed).toBeLessThan(64 * TIMERS.t1Ms + 1000);
    // Schedule 0, 10, 30, 70, then every 40 ms up to 630: 18 sends; allow for timer jitter.
    await until(() => received >= 5);
    expect(received).toBeLessThanOrEqual(18);
    expect(uac.layer.stats()).toEqual({ client: 0, server: 0, awaitingAck: 0 });
  });
});

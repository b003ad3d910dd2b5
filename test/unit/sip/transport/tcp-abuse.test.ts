import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TransportLayer } from '../../../../src/sip/transport/transport-layer.js';
import type {
  InboundMessage,
  InboundParseError,
  TransportLimits,
} from '../../../../src/sip/transport/types.js';
import { Collector, closed, sipRequest } from './support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function layer(limits: Partial<TransportLimits>) {
  const t = new TransportLayer(limits);
  cleanup.push(() => t.close());
  const [local] = await t.listen([{ protocol: 'tcp', address: '127.0.0.1', port: 0 }]);
  const messages = new Collector<InboundMessage>();
  const errors = new Collector<InboundParseError>();
  t.onMessage(messages.push);
  t.onParseError(errors.push);
  return { t, port: local!.port, messages, errors };
}

/** A connection from `source` (a 127.0.0.x address), resolved once connected. */
function from(source: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: source }, () => resolve(s));
    s.once('error', reject);
    s.on('error', () => {});
    cleanup.push(() => {
      s.destroy();
    });
  });
}

function closeReasons(): { reasons: string[]; stop: () => void } {
  const reasons: string[] = [];
  const onClose = (e: unknown): void => {
    reasons.push((e as { reason: string }).reason);
  };
  subscribe('stirgate:transport:connection_close', onClose);
  return { reasons, stop: () => unsubscribe('stirgate:transport:connection_close', onClose) };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TCP abuse bounds', () => {
  it('caps inbound connections per source address; other sources still connect', async () => {
    const { t, port, messages } = await layer({ tcpMaxConnectionsPerSource: 2 });
    const a1 = await from('127.0.0.2', port);
    await from('127.0.0.2', port);
    await until(() => t.stats().tcpConnections === 2);
    const a3 = await from('127.0.0.2', port);
    await closed(a3);
    const b = await from('127.0.0.3', port);
    b.write(sipRequest({ callId: 'b@source' }));
    expect((await messages.wait(1))[0]!.flow.remote.address).toBe('127.0.0.3');
    expect(t.stats().tcpConnections).toBe(3);
    // The slot is the source's again once one of its connections closes.
    a1.destroy();
    await until(() => t.stats().tcpConnections === 2);
    const a4 = await from('127.0.0.2', port);
    a4.write(sipRequest({ callId: 'a4@source' }));
    expect((await messages.wait(2))[1]!.message.callId).toBe('a4@source');
  });

  it('closes a connection whose message does not complete within tcpMessageTimeoutMs of its first byte, however it trickles', async () => {
    const events = closeReasons();
    cleanup.push(events.stop);
    const { t, port, messages } = await layer({ tcpMessageTimeoutMs: 300, tcpIdleTimeoutMs: 10_000 });
    const s = await from('127.0.0.2', port);
    const raw = sipRequest({ callId: 'slow@test' });
    const started = Date.now();
    let i = 0;
    const drip = setInterval(() => {
      if (i < raw.length && !s.destroyed) s.write(raw.subarray(i, ++i));
    }, 20);
    cleanup.push(() => clearInterval(drip));
    await closed(s, 3000);
    const heldMs = Date.now() - started;
    expect(heldMs).toBeGreaterThanOrEqual(280);
    expect(heldMs).toBeLessThan(1500);
    await until(() => t.stats().tcpConnections === 0);
    expect(events.reasons).toContain('slow');
    expect(messages.items).toHaveLength(0);
  });

  it('restarts the deadline for each message: a slow but steady peer is kept', async () => {
    const { port, messages } = await layer({ tcpMessageTimeoutMs: 250 });
    const s = await from('127.0.0.2', port);
    for (let n = 0; n < 4; n++) {
      const raw = sipRequest({ callId: `steady${n}@test` });
      s.write(raw.subarray(0, 40));
      await sleep(150); // each message takes 150 ms; four of them take far longer than the deadline
      s.write(raw.subarray(40));
    }
    const got = await messages.wait(4);
    expect(got.map((m) => m.message.callId)).toEqual([0, 1, 2, 3].map((n) => `steady${n}@test`));
    expect(s.destroyed).toBe(false);
  });

  it('a framing error reports the request it could read, so it can be answered before the close', async () => {
    const { port, errors } = await layer({ maxMessageSize: 2048 });
    const s = await from('127.0.0.2', port);
    s.write(
      sipRequest({
        callId: 'big@test',
        extraHeaders: ['Content-Type: application/sdp'],
        body: 'x'.repeat(4000),
      }),
    );
    const [e] = await errors.wait(1);
    expect(e!.error.code).toBe('too_large');
    expect(e!.error.partial?.isRequest() && e!.error.partial.callId).toBe('big@test');
    await closed(s);
  });
});

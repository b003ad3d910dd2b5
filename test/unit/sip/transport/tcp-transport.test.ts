import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TransportLayer } from '../../../../src/sip/transport/transport-layer.js';
import type {
  InboundMessage,
  InboundParseError,
  TransportLimits,
} from '../../../../src/sip/transport/types.js';
import { Collector, closed, received, sipRequest, sipResponse, tcpClient, turn } from './support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function layer(limits: Partial<TransportLimits> = {}) {
  const t = new TransportLayer(limits);
  cleanup.push(() => t.close());
  const [local] = await t.listen([{ protocol: 'tcp', address: '127.0.0.1', port: 0 }]);
  const messages = new Collector<InboundMessage>();
  const errors = new Collector<InboundParseError>();
  t.onMessage(messages.push);
  t.onParseError(errors.push);
  return { t, port: local!.port, messages, errors };
}

async function client(port: number) {
  const s = await tcpClient(port);
  s.on('error', () => {});
  cleanup.push(() => {
    s.destroy();
  });
  return s;
}

/** Poll a condition on the event loop (bounded). */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TCP transport', () => {
  it('frames several messages written at once', async () => {
    const { port, messages } = await layer();
    const s = await client(port);
    const ids = ['a', 'b', 'c', 'd'].map((x) => `${x}@multi`);
    s.write(Buffer.concat(ids.map((callId, i) => sipRequest({ callId, body: i % 2 ? 'v=0\r\n' : '' }))));
    const got = await messages.wait(4);
    expect(got.map((m) => m.message.callId)).toEqual(ids);
    expect(got[1]!.message.body.toString()).toBe('v=0\r\n');
    expect(new Set(got.map((m) => m.flow.connectionId)).size).toBe(1);
  });

  it('reassembles a message written byte by byte', async () => {
    const { port, messages } = await layer();
    const s = await client(port);
    const raw = sipRequest({ callId: 'trickle@test', body: 'hello\r\n\r\nworld' });
    for (let i = 0; i < raw.length; i++) {
      s.write(raw.subarray(i, i + 1));
      if (i % 8 === 0) await turn();
    }
    const [m] = await messages.wait(1);
    expect(m!.message.callId).toBe('trickle@test');
    expect(m!.message.body.toString()).toBe('hello\r\n\r\nworld');
    expect(messages.items).toHaveLength(1);
  });

  it('reports a missing Content-Length on the stream and closes the connection', async () => {
    const { t, port, errors, messages } = await layer();
    const s = await client(port);
    await until(() => t.stats().tcpConnections === 1);
    s.write(sipRequest({ noContentLength: true }));
    const [e] = await errors.wait(1);
    expect(e!.error.name).toBe('SipParseError');
    expect(e!.flow.protocol).toBe('tcp');
    expect(e!.raw.length).toBeGreaterThan(0);
    await closed(s);
    await until(() => t.stats().tcpConnections === 0);
    expect(messages.items).toHaveLength(0);
  });

  it('keeps the connection after a well-framed but invalid message', async () => {
    const { port, errors, messages } = await layer();
    const s = await client(port);
    s.write(Buffer.from('OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n')); // no Via/From/To/...
    s.write(sipRequest({ callId: 'next@test' }));
    const [e] = await errors.wait(1);
    expect(e!.error.code).toBe('missing_header');
    const [m] = await messages.wait(1);
    expect(m!.message.callId).toBe('next@test');
  });

  it('closes a connection whose header section exceeds maxMessageSize', async () => {
    const { port, errors } = await layer({ maxMessageSize: 512 });
    const s = await client(port);
    s.write(`OPTIONS sip:x SIP/2.0\r\nX-Pad: ${'p'.repeat(600)}`);
    const [e] = await errors.wait(1);
    expect(e!.error.code).toBe('too_large');
    await closed(s);
  });

  it('refuses connections beyond tcpMaxConnections', async () => {
    const { t, port, messages } = await layer({ tcpMaxConnections: 2 });
    const a = await client(port);
    const b = await client(port);
    await until(() => t.stats().tcpConnections === 2);
    const c = await client(port);
    await closed(c);
    expect(t.stats().tcpConnections).toBe(2);
    a.write(sipRequest({ callId: 'a@limit' }));
    b.write(sipRequest({ callId: 'b@limit' }));
    const got = await messages.wait(2);
    expect(got.map((m) => m.message.callId).sort()).toEqual(['a@limit', 'b@limit']);
    // A freed slot is usable again.
    a.destroy();
    await until(() => t.stats().tcpConnections === 1);
    const d = await client(port);
    d.write(sipRequest({ callId: 'd@limit' }));
    expect((await messages.wait(3))[2]!.message.callId).toBe('d@limit');
  });

  it('closes idle connections after tcpIdleTimeoutMs', async () => {
    const { t, port } = await layer({ tcpIdleTimeoutMs: 80 });
    const s = await client(port);
    await until(() => t.stats().tcpConnections === 1);
    const started = Date.now();
    await closed(s, 2000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    await until(() => t.stats().tcpConnections === 0);
  });

  it('sends the response on the connection the request came in on (RFC 3261 §18.2.2)', async () => {
    const { t, port, messages } = await layer();
    const s = await client(port);
    const inbox = received(s);
    // sent-by names a port nobody listens on: only the connection can deliver the response.
    s.write(sipRequest({ via: `SIP/2.0/TCP 127.0.0.1:${await freePort()};branch=z9hG4bKconn` }));
    const [m] = await messages.wait(1);
    const target = t.responseTarget(m!.message.topVia!, m!.flow);
    expect(target.connectionId).toBe(m!.flow.connectionId);
    const flow = await t.send(target, sipResponse(200, m!.message.get('via')!));
    expect(flow.connectionId).toBe(m!.flow.connectionId);
    await until(() => inbox.text().startsWith('SIP/2.0 200 OK'));
    expect(t.stats().tcpConnections).toBe(1);
  });

  it('answers a CRLFCRLF ping with a CRLF pong and ignores a lone CRLF (RFC 5626 §3.5.1)', async () => {
    const { port, messages } = await layer();
    const s = await client(port);
    const inbox = received(s);
    s.write('\r\n');
    s.write('\r\n'); // ping split over two writes
    await until(() => inbox.text() === '\r\n');
    s.write('\r\n'); // a pong from the peer: no answer
    s.write(sipRequest({ callId: 'after-ping@test' }));
    const [m] = await messages.wait(1);
    expect(m!.message.callId).toBe('after-ping@test');
    expect(inbox.text()).toBe('\r\n');
  });

  it('survives a peer reset mid-message and a half-close', async () => {
    const { t, port, messages, errors } = await layer();
    const r = await client(port);
    r.write(sipRequest().subarray(0, 40));
    await turn();
    r.resetAndDestroy();
    const h = await client(port);
    h.end(sipRequest({ callId: 'half@test' }));
    const [m] = await messages.wait(1);
    expect(m!.message.callId).toBe('half@test');
    await until(() => t.stats().tcpConnections === 0);
    expect(errors.items).toHaveLength(0);
  });

  it('reuses an outbound connection and queues writes made while connecting', async () => {
    const server = await layer();
    const { t } = await layer();
    const target = { protocol: 'tcp' as const, remote: { address: '127.0.0.1', port: server.port } };
    const sends = [1, 2, 3].map((i) => t.send(target, sipRequest({ callId: `q${i}@test` })));
    const flows = await Promise.all(sends);
    expect(new Set(flows.map((f) => f.connectionId)).size).toBe(1);
    expect(flows[0]!.remote).toEqual(target.remote);
    expect(flows[0]!.local.address).toBe('127.0.0.1');
    await t.send(target, sipRequest({ callId: 'q4@test' }));
    const got = await server.messages.wait(4);
    expect(got.map((m) => m.message.callId)).toEqual(['q1@test', 'q2@test', 'q3@test', 'q4@test']);
    expect(new Set(got.map((m) => m.flow.connectionId)).size).toBe(1);
    expect(t.stats().tcpConnections).toBe(1);
  });

  it('an unknown connection id falls back to the open connection to target.remote', async () => {
    const server = await layer();
    const { t } = await layer();
    const remote = { address: '127.0.0.1', port: server.port };
    const first = await t.send({ protocol: 'tcp', remote }, sipRequest());
    const again = await t.send(
      { protocol: 'tcp', remote, connectionId: 987_654 },
      sipRequest({ callId: 'fb@test' }),
    );
    expect(again.connectionId).toBe(first.connectionId);
    expect((await server.messages.wait(2))[1]!.message.callId).toBe('fb@test');
  });

  it('opens a new connection when the one named by connectionId has closed', async () => {
    const server = await layer({ tcpIdleTimeoutMs: 50 });
    const { t } = await layer();
    const remote = { address: '127.0.0.1', port: server.port };
    const first = await t.send({ protocol: 'tcp', remote }, sipRequest());
    await until(() => t.stats().tcpConnections === 0); // the server dropped it as idle
    expect(t.isConnectionOpen(first.connectionId!)).toBe(false);
    const second = await t.send(
      { protocol: 'tcp', remote, connectionId: first.connectionId! },
      sipRequest({ callId: 'new@test' }),
    );
    expect(second.connectionId).not.toBe(first.connectionId);
    expect((await server.messages.wait(2))[1]!.message.callId).toBe('new@test');
  });

  it('rejects with connect_failed when nothing listens', async () => {
    const { t } = await layer();
    const port = await freePort();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // to see the connect timer cleared
    await expect(
      t.send({ protocol: 'tcp', remote: { address: '127.0.0.1', port } }, sipRequest()),
    ).rejects.toMatchObject({
      name: 'TransportError',
      code: 'connect_failed',
    });
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    await until(() => t.stats().tcpConnections === 0);
  });

  it('rejects with connect_timeout when the connection does not come up in time', async () => {
    const server = await layer();
    const { t } = await layer({ tcpConnectTimeoutMs: 50 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const p = t.send({ protocol: 'tcp', remote: { address: '127.0.0.1', port: server.port } }, sipRequest());
    vi.advanceTimersByTime(50); // fires before the event loop can complete the connect
    await expect(p).rejects.toMatchObject({ name: 'TransportError', code: 'connect_timeout' });
    vi.useRealTimers();
    await until(() => t.stats().tcpConnections === 0);
  });

  it('close() ends connections and rejects further sends', async () => {
    const { t, port } = await layer();
    const s = await client(port);
    await until(() => t.stats().tcpConnections === 1);
    await t.close();
    await closed(s);
    expect(t.stats().tcpConnections).toBe(0);
    await expect(
      t.send({ protocol: 'tcp', remote: { address: '127.0.0.1', port } }, Buffer.from('x')),
    ).rejects.toMatchObject({
      code: 'no_listener',
    });
  });
});

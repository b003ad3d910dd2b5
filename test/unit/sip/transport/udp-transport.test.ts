import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../../src/sip/message/message.js';
import { TransportLayer } from '../../../../src/sip/transport/transport-layer.js';
import {
  type InboundMessage,
  type InboundParseError,
  TransportError,
} from '../../../../src/sip/transport/types.js';
import { Collector, closeUdp, ipv6Available, sipRequest, sipResponse, udpSocket } from './support.js';

const hasIpv6 = await ipv6Available();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function layer(limits: ConstructorParameters<typeof TransportLayer>[0] = {}, address = '127.0.0.1') {
  const t = new TransportLayer(limits);
  cleanup.push(() => t.close());
  const [local] = await t.listen([{ protocol: 'udp', address, port: 0 }]);
  const messages = new Collector<InboundMessage>();
  const errors = new Collector<InboundParseError>();
  t.onMessage(messages.push);
  t.onParseError(errors.push);
  return { t, local: local!, messages, errors };
}

async function client(family: 4 | 6 = 4) {
  const s = await udpSocket(family);
  cleanup.push(() => closeUdp(s));
  const inbox = new Collector<Buffer>();
  s.on('message', inbox.push);
  return { s, port: s.address().port, inbox };
}

describe('UDP transport', () => {
  it('receives a request and sends the response back to the source (round trip)', async () => {
    const { t, local, messages } = await layer();
    expect(local.port).toBeGreaterThan(0);
    expect(t.localEndpoint('udp')).toEqual(local);
    const c = await client();
    c.s.send(
      sipRequest({ via: `SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKrt` }),
      local.port,
      '127.0.0.1',
    );
    const [m] = await messages.wait(1);
    expect(m!.message.isRequest() && (m!.message as SipRequest).method).toBe('OPTIONS');
    expect(m!.flow).toEqual({ protocol: 'udp', local, remote: { address: '127.0.0.1', port: c.port } });
    expect(typeof m!.receivedAt).toBe('bigint');

    const target = t.responseTarget(m!.message.topVia!, m!.flow);
    const flow = await t.send(target, sipResponse(200, m!.message.get('via')!));
    expect(flow.local).toEqual(local);
    const [bytes] = await c.inbox.wait(1);
    expect(bytes!.toString('latin1')).toMatch(/^SIP\/2\.0 200 OK\r\n/);
  });

  it('shares one flow per peer between datagrams and the flows its sends resolve to', async () => {
    const { t, local, messages } = await layer();
    const c = await client();
    for (const branch of ['z9hG4bKs1', 'z9hG4bKs2'])
      c.s.send(
        sipRequest({ via: `SIP/2.0/UDP 127.0.0.1:${c.port};branch=${branch}` }),
        local.port,
        '127.0.0.1',
      );
    const [m1, m2] = await messages.wait(2);
    expect(m2!.flow).toBe(m1!.flow);
    const sent = await t.send(
      { protocol: 'udp', remote: { address: '127.0.0.1', port: c.port } },
      sipResponse(200, m1!.message.get('via')!),
    );
    expect(sent).toBe(m1!.flow);
    await c.inbox.wait(1);
  });

  it('stamps received and rport on the top Via (RFC 3261 §18.2.1, RFC 3581 §4)', async () => {
    const { t, local, messages } = await layer();
    const c = await client();
    c.s.send(
      sipRequest({ via: 'SIP/2.0/UDP 10.0.0.99:5099;rport;branch=z9hG4bKnat' }),
      local.port,
      '127.0.0.1',
    );
    const [m] = await messages.wait(1);
    const via = m!.message.topVia!;
    expect(via.received).toBe('127.0.0.1');
    expect(via.rport).toBe(c.port);
    expect(m!.message.get('via')).toBe(
      `SIP/2.0/UDP 10.0.0.99:5099;rport=${c.port};branch=z9hG4bKnat;received=127.0.0.1`,
    );
    // The response follows received/rport, not the unreachable sent-by.
    expect(t.responseTarget(via, m!.flow).remote).toEqual({ address: '127.0.0.1', port: c.port });
  });

  it('processes only the first request of a datagram with trailing octets (RFC 4475 §3.1.1.8 dblreq)', async () => {
    const { local, messages, errors } = await layer();
    const c = await client();
    const dblreq = await readFile(new URL('../../../fixtures/torture/dblreq.dat', import.meta.url));
    c.s.send(dblreq, local.port, '127.0.0.1');
    c.s.send(sipRequest({ callId: 'sentinel@test' }), local.port, '127.0.0.1');
    const got = await messages.wait(2);
    expect(got.map((m) => (m.message as SipRequest).method)).toEqual(['REGISTER', 'OPTIONS']);
    expect(got[1]!.message.callId).toBe('sentinel@test');
    expect(messages.items).toHaveLength(2);
    expect(errors.items).toHaveLength(0);
  });

  it('reports an oversize datagram as parse error too_large', async () => {
    const { local, errors, messages } = await layer({ maxMessageSize: 1000 });
    const c = await client();
    const big = sipRequest({ body: 'x'.repeat(1500) });
    c.s.send(big, local.port, '127.0.0.1');
    const [e] = await errors.wait(1);
    expect(e!.error.code).toBe('too_large');
    expect(e!.flow.remote.port).toBe(c.port);
    expect(e!.raw.length).toBe(big.length);
    expect(messages.items).toHaveLength(0);
  });

  it('reports a malformed datagram with a partial message when the headers could be read', async () => {
    const { local, errors } = await layer();
    const c = await client();
    c.s.send(Buffer.from('NOT A SIP MESSAGE\r\n\r\n'), local.port, '127.0.0.1');
    const [e] = await errors.wait(1);
    expect(e!.error.name).toBe('SipParseError');
    expect(e!.raw.toString()).toBe('NOT A SIP MESSAGE\r\n\r\n');
  });

  it('drops CRLF keep-alives and STUN datagrams silently', async () => {
    const { local, messages, errors } = await layer();
    const c = await client();
    c.s.send(Buffer.from('\r\n\r\n'), local.port, '127.0.0.1');
    c.s.send(Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), local.port, '127.0.0.1');
    c.s.send(sipRequest({ callId: 'after@test' }), local.port, '127.0.0.1');
    const [m] = await messages.wait(1);
    expect(m!.message.callId).toBe('after@test');
    expect(errors.items).toHaveLength(0);
  });

  it('survives a throwing handler', async () => {
    const { t, local, messages } = await layer();
    t.onMessage(() => {
      throw new Error('handler bug');
    });
    const c = await client();
    c.s.send(sipRequest(), local.port, '127.0.0.1');
    c.s.send(sipRequest(), local.port, '127.0.0.1');
    await messages.wait(2);
  });

  it('rejects sends it cannot make with stable codes', async () => {
    const { t } = await layer();
    await expect(
      t.send({ protocol: 'udp', remote: { address: '127.0.0.1', port: 9 } }, Buffer.alloc(70_000)),
    ).rejects.toMatchObject({
      name: 'TransportError',
      code: 'send_failed',
    });
    expect(() => t.localEndpoint('tcp')).toThrow(TransportError);
    expect(() => t.localEndpoint('udp', 6)).toThrowError(expect.objectContaining({ code: 'no_listener' }));
    const empty = new TransportLayer();
    cleanup.push(() => empty.close());
    await expect(
      empty.send({ protocol: 'udp', remote: { address: '127.0.0.1', port: 9 } }, Buffer.from('x')),
    ).rejects.toMatchObject({
      code: 'no_listener',
    });
  });

  it.skipIf(!hasIpv6)('round trip over IPv6 on ::1 (skipped when ::1 cannot be bound)', async () => {
    const { t, local, messages } = await layer({}, '::1');
    expect(t.localEndpoint('udp', 6)).toEqual(local);
    const c = await client(6);
    c.s.send(sipRequest({ via: `SIP/2.0/UDP [::1]:${c.port};rport;branch=z9hG4bK6` }), local.port, '::1');
    const [m] = await messages.wait(1);
    expect(m!.flow.remote).toEqual({ address: '::1', port: c.port });
    expect(m!.message.topVia!.received).toBe('::1');
    await t.send(t.responseTarget(m!.message.topVia!, m!.flow), sipResponse(200, m!.message.get('via')!));
    const [bytes] = await c.inbox.wait(1);
    expect(bytes!.toString('latin1')).toMatch(/^SIP\/2\.0 200/);
  });

  it('close() releases the port', async () => {
    const t = new TransportLayer();
    const [local] = await t.listen([{ protocol: 'udp', address: '127.0.0.1', port: 0 }]);
    await t.close();
    await t.close(); // idempotent
    const again = new TransportLayer();
    cleanup.push(() => again.close());
    await expect(
      again.listen([{ protocol: 'udp', address: '127.0.0.1', port: local!.port }]),
    ).resolves.toHaveLength(1);
  });
});

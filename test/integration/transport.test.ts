import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse } from '../../src/sip/message/build.js';
import type { SipRequest, SipResponse } from '../../src/sip/message/message.js';
import { parseMessage } from '../../src/sip/message/parse.js';
import {
  type InboundMessage,
  type InboundParseError,
  TransportLayer,
  type TransportLimits,
  type TransportProtocol,
} from '../../src/sip/transport/index.js';
import {
  Collector,
  closed,
  ipv6Available,
  sipRequest,
  tcpClient,
  turn,
} from '../unit/sip/transport/support.js';

const hasIpv6 = await ipv6Available();
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function node(
  protocol: TransportProtocol,
  address = '127.0.0.1',
  limits: Partial<TransportLimits> = {},
) {
  const t = new TransportLayer(limits);
  cleanup.push(() => t.close());
  await t.listen([{ protocol, address, port: 0 }]);
  const messages = new Collector<InboundMessage>();
  const errors = new Collector<InboundParseError>();
  t.onMessage(messages.push);
  t.onParseError(errors.push);
  return { t, messages, errors };
}

/** UAC sends a request with its own sent-by; UAS answers per §18.2.2; UAC gets the response. */
async function roundTrip(protocol: TransportProtocol, address: string) {
  const uac = await node(protocol, address);
  const uas = await node(protocol, address);
  const me = uac.t.localEndpoint(protocol);
  const host = address.includes(':') ? `[${me.address}]` : me.address;
  const req = parseMessage(
    sipRequest({
      via: `SIP/2.0/${protocol.toUpperCase()} ${host}:${me.port};rport;branch=z9hG4bKit1`,
      callId: 'rt@it',
    }),
  ) as SipRequest;
  const sent = await uac.t.send({ protocol, remote: uas.t.localEndpoint(protocol) }, req);

  const [inbound] = await uas.messages.wait(1);
  const got = inbound!.message as SipRequest;
  expect(got.method).toBe('OPTIONS');
  expect(got.topVia!.rport).toBe(sent.local.port);
  expect(inbound!.flow.remote).toEqual(sent.local);

  const res = createResponse(got, 200, undefined, { toTag: 'uas1' });
  const answered = await uas.t.send(uas.t.responseTarget(res, inbound!.flow), res);
  const [back] = await uac.messages.wait(1);
  const response = back!.message as SipResponse;
  expect(response.status).toBe(200);
  expect(response.callId).toBe('rt@it');
  expect(response.topVia!.rport).toBe(sent.local.port);
  return { uac, uas, sent, answered, back: back! };
}

describe('transport layer end to end', () => {
  it('UDP: request and response between two layers', async () => {
    const { back, answered, sent } = await roundTrip('udp', '127.0.0.1');
    expect(back.flow.local).toEqual(sent.local);
    expect(answered.remote).toEqual({ address: '127.0.0.1', port: sent.local.port });
  });

  it('TCP: the response comes back on the request connection', async () => {
    const { uac, uas, sent, answered, back } = await roundTrip('tcp', '127.0.0.1');
    expect(back.flow.connectionId).toBe(sent.connectionId);
    expect(answered.connectionId).toBeDefined();
    expect(uac.t.stats().tcpConnections).toBe(1);
    expect(uas.t.stats().tcpConnections).toBe(1);
  });

  it.skipIf(!hasIpv6)('UDP and TCP over ::1 (skipped when ::1 cannot be bound)', async () => {
    await roundTrip('udp', '::1');
    const { back } = await roundTrip('tcp', '::1');
    expect(back.flow.remote.address).toBe('::1');
  });

  it('close() leaves no socket handles behind', async () => {
    const handles = (): string[] =>
      process
        .getActiveResourcesInfo()
        .filter((r) => /TCP|UDP|Timeout/.test(r))
        .sort();
    // Earlier tests' sockets finish closing asynchronously: start from a settled set.
    let before = handles();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const now = handles();
      if (now.join() === before.join()) break;
      before = now;
    }
    const a = new TransportLayer({ tcpIdleTimeoutMs: 60_000 });
    const b = new TransportLayer();
    await a.listen([
      { protocol: 'udp', address: '127.0.0.1', port: 0 },
      { protocol: 'tcp', address: '127.0.0.1', port: 0 },
    ]);
    await b.listen([{ protocol: 'tcp', address: '127.0.0.1', port: 0 }]);
    const inbound = new Collector<InboundMessage>();
    a.onMessage(inbound.push);
    await b.send({ protocol: 'tcp', remote: a.localEndpoint('tcp') }, sipRequest());
    await inbound.wait(1);
    // A connect still in progress when close() runs must not leak either.
    const pending = b.send(
      { protocol: 'tcp', remote: { address: '127.0.0.2', port: a.localEndpoint('tcp').port } },
      sipRequest(),
    );
    expect(handles().length).toBeGreaterThan(before.length);
    await Promise.all([a.close(), b.close()]);
    await expect(pending).rejects.toMatchObject({ name: 'TransportError' });
    for (let i = 0; i < 20 && handles().length > before.length; i++)
      await new Promise((r) => setTimeout(r, 10));
    const after = handles();
    expect(after.filter((h) => h !== 'Timeout')).toEqual(before.filter((h) => h !== 'Timeout'));
    // Timers (connect timeout, idle) are cleared too; the harness owns at most the ones it had before.
    expect(after.filter((h) => h === 'Timeout').length).toBeLessThanOrEqual(
      before.filter((h) => h === 'Timeout').length,
    );
  });

  it('publishes message and parse-error events on stirgate:transport:* channels', async () => {
    const seen: [string, unknown][] = [];
    const names = [
      'stirgate:transport:message_in',
      'stirgate:transport:message_out',
      'stirgate:transport:parse_error',
    ];
    const handlers = names.map((n) => {
      const h = (data: unknown): void => {
        seen.push([n, data]);
      };
      subscribe(n, h);
      return [n, h] as const;
    });
    cleanup.push(() => {
      for (const [n, h] of handlers) unsubscribe(n, h);
    });
    const uas = await node('tcp');
    const s = await tcpClient(uas.t.localEndpoint('tcp').port);
    cleanup.push(() => {
      s.destroy();
    });
    s.write(sipRequest({ method: 'INVITE' }));
    const [m] = await uas.messages.wait(1);
    await uas.t.send(
      uas.t.responseTarget(m!.message.topVia!, m!.flow),
      createResponse(m!.message as SipRequest, 180),
    );
    s.write('INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n');
    await uas.errors.wait(1);
    await closed(s);
    expect(seen).toEqual([
      ['stirgate:transport:message_in', { protocol: 'tcp', kind: 'request', method: 'INVITE' }],
      [
        'stirgate:transport:message_out',
        expect.objectContaining({ protocol: 'tcp', kind: 'response', statusClass: '1xx' }),
      ],
      ['stirgate:transport:parse_error', { protocol: 'tcp', code: 'bad_content_length' }],
    ]);
  });

  it('property: random valid messages written to a TCP socket at random split points arrive whole and in order', async () => {
    const uas = await node('tcp');
    const port = uas.t.localEndpoint('tcp').port;
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/);
    const message = fc.record({
      method: fc.constantFrom('INVITE', 'OPTIONS', 'BYE', 'MESSAGE', 'NOTIFY', 'X-CUSTOM'),
      extra: fc.array(fc.tuple(token, fc.stringMatching(/^[!-~][ -~]{0,60}$/)), { maxLength: 5 }),
      body: fc.uint8Array({ maxLength: 600 }),
      compact: fc.boolean(),
      keepAlive: fc.constantFrom('', '\r\n', '\r\n\r\n'),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (msgs, cuts) => {
          run++;
          const wire = msgs.map((m, i) => {
            const raw = sipRequest({
              method: m.method,
              callId: `p${run}-${i}@prop`,
              body: Buffer.from(m.body),
              extraHeaders: m.extra
                .filter(
                  ([n]) => !/^(l|content-length|via|from|to|call-id|cseq|max-forwards|[ftivm])$/i.test(n),
                )
                .map(([n, v]) => `X-${n}: ${v}`),
            }).toString('latin1');
            const framed = m.compact ? wireWithCompactLength(raw) : raw;
            return Buffer.concat([Buffer.from(m.keepAlive), Buffer.from(framed, 'latin1')]);
          });
          const stream = Buffer.concat(wire);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const before = uas.messages.items.length;
          const s = await tcpClient(port);
          try {
            let prev = 0;
            for (const p of [...points, stream.length]) {
              if (p > prev) s.write(stream.subarray(prev, p));
              prev = p;
              await turn();
            }
            const all = await uas.messages.wait(before + msgs.length, 5000);
            const got = all.slice(before);
            expect(got.map((m) => m.message.callId)).toEqual(msgs.map((_, i) => `p${run}-${i}@prop`));
            expect(got.map((m) => (m.message as SipRequest).method)).toEqual(msgs.map((m) => m.method));
            got.forEach((m, i) => {
              expect(Buffer.compare(m.message.body, Buffer.from(msgs[i]!.body))).toBe(0);
            });
            expect(uas.errors.items).toHaveLength(0);
          } finally {
            s.destroy();
          }
        },
      ),
      { numRuns: 200, interruptAfterTimeLimit: 8000 },
    );
    expect(run).toBeGreaterThan(5);
  });
});

/** Use the compact form `l:` for Content-Length (RFC 3261 §7.3.3). */
function wireWithCompactLength(raw: string): string {
  return raw.replace('\r\nContent-Length: ', '\r\nl: ');
}

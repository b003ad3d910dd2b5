/**
 * A real element under TCP abuse (issue 18): idle connections, slowloris, a stream without end of headers,
 * a connection flood. During each attack a caller on an established TCP connection keeps making calls
 * (INVITE/200/ACK/BYE through the element to a UDP callee); the test checks they all complete and prints
 * the figures docs/operations.md ("Hostile and malformed traffic") reports: connections held, RSS, latency.
 * Attackers use 127.0.0.x source addresses; everything is bounded in count and time.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/message/message.js';
import { DEFAULT_MESSAGE_LIMITS, parseMessage } from '../../src/sip/message/parse.js';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';
import { type Element, startElement } from '../support/element.js';
import { ackOf, callerInvite, inDialogRequest, responseTo } from '../support/peer-messages.js';
import { freePort } from '../support/ports.js';

const MESSAGE_TIMEOUT_MS = 1000;
const PER_SOURCE = 50;
const MAX_CONNECTIONS = 300;

let element: Element;
let callee: UdpSocket;
let caller: Caller;
const attackers: Socket[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP caller on one connection, reading responses with the element's own framer. */
class Caller {
  readonly socket: Socket;
  readonly #framer = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
  #waiting: ((m: SipResponse) => void)[] = [];
  #want: ((m: SipResponse) => boolean)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) =>
      this.#framer.push(chunk, {
        frame: (f) => {
          this.#received(parseMessage(f, undefined, { stream: true }));
          return true;
        },
        ping: () => {},
      }),
    );
  }

  #received(m: SipMessage): void {
    if (m.isRequest()) return;
    const i = this.#want.findIndex((w) => w(m as SipResponse));
    if (i < 0) return;
    this.#want.splice(i, 1);
    this.#waiting.splice(i, 1)[0]!(m as SipResponse);
  }

  next(want: (m: SipResponse) => boolean, ms = 5000): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no response in time')), ms);
      this.#want.push(want);
      this.#waiting.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  /** One call: INVITE -> 200 (timed), ACK, BYE -> 200. Returns the INVITE->200 time in ms. */
  async call(sipPort: number): Promise<number> {
    const me = { address: '127.0.0.1', port: this.socket.localPort! };
    const text = callerInvite({ caller: me, to: { address: '127.0.0.1', port: sipPort } }).replace(
      'SIP/2.0/UDP',
      'SIP/2.0/TCP',
    );
    const inv = parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
    const started = performance.now();
    const ok = this.next((r) => r.status === 200 && r.callId === inv.callId && r.cseq.method === 'INVITE');
    this.socket.write(text);
    const final = await ok;
    const ms = performance.now() - started;
    this.socket.write(ackOf(inv, final));
    const byeOk = this.next((r) => r.callId === inv.callId && r.cseq.method === 'BYE');
    this.socket.write(inDialogRequest('BYE', inv, final, { seq: 2, branch: `z9hG4bKbye${inv.callId}` }));
    expect((await byeOk).status).toBe(200);
    return ms;
  }
}

function open(port: number, source: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: source });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
    s.on('error', () => {});
    attackers.push(s);
  });
}

/** Whether the element still holds this connection (it closes refused ones at once). */
async function held(sockets: (Socket | undefined)[]): Promise<number> {
  await sleep(100);
  return sockets.filter((s) => s !== undefined && !s.destroyed && s.readyState === 'open').length;
}

interface Figures {
  attack: string;
  opened: number;
  heldPeak: number;
  heldAfter: number;
  /** ms from the attack's start until the element held none of its connections (when it closes them). */
  clearedMs?: number;
  rssMb: number;
  calls: number;
  p50Ms: number;
  maxMs: number;
}
const figures: Figures[] = [];

/** Calls on the established connection while `attack` runs; the latencies. */
async function callsDuring(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await caller.call(element.port));
  return out;
}

function record(f: Omit<Figures, 'rssMb' | 'p50Ms' | 'maxMs' | 'calls'>, lat: number[]): void {
  const sorted = [...lat].sort((a, b) => a - b);
  figures.push({
    ...f,
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
    calls: lat.length,
    p50Ms: Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(2)),
    maxMs: Number(sorted.at(-1)!.toFixed(2)),
  });
}

function sources(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
}

beforeAll(async () => {
  const sipPort = await freePort('both');
  callee = createSocket('udp4');
  callee.on('message', (msg, rinfo) => {
    const req = parseMessage(msg) as SipRequest;
    if (!req.isRequest() || req.method === 'ACK') return;
    const calleeEp = { address: '127.0.0.1', port: callee.address().port };
    callee.send(responseTo(req, 200, { toTag: 'callee', contact: calleeEp }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => callee.bind(0, '127.0.0.1', r));
  element = await startElement(
    `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
sip:
  limits:
    tcp_max_connections: ${MAX_CONNECTIONS}
    tcp_max_connections_per_source: ${PER_SOURCE}
    tcp_message_timeout_ms: ${MESSAGE_TIMEOUT_MS}
trunks:
  - name: caller
    match: { sources: [127.0.0.1/32] }
    role: passthrough
    route: next
routes:
  - name: next
    next_hops: [{ address: 127.0.0.1, port: ${callee.address().port}, transport: udp }]
data_dir: {data_dir}
`,
    { port: sipPort },
  );
  const s = await open(sipPort, '127.0.0.1');
  caller = new Caller(s!);
  attackers.pop(); // the caller's socket is not an attacker's
  await callsDuring(5); // warm
  record({ attack: 'none (baseline)', opened: 0, heldPeak: 0, heldAfter: 0 }, await callsDuring(20));
});

afterAll(async () => {
  for (const s of attackers) s.destroy();
  caller?.socket.destroy();
  await element?.stop();
  callee?.close();
  if (figures.length > 0) console.log(`tcp-abuse figures\n${JSON.stringify(figures, null, 1)}`);
});

describe('TCP abuse: calls on an established connection keep working', () => {
  it('idle connections: each source holds at most tcp_max_connections_per_source', async () => {
    const rss = process.memoryUsage().rss;
    const socks = await Promise.all(
      sources(10, 4).flatMap((src) => Array.from({ length: 60 }, () => open(element.port, src))),
    );
    const lat = await callsDuring(20);
    const peak = await held(socks);
    expect(peak).toBe(4 * PER_SOURCE);
    expect(element.app.stats().tcpConnections).toBe(4 * PER_SOURCE + 1);
    for (const s of socks) s?.destroy();
    await sleep(100);
    record(
      { attack: 'idle (4 sources x 60)', opened: socks.length, heldPeak: peak, heldAfter: await held(socks) },
      lat,
    );
    expect(process.memoryUsage().rss - rss).toBeLessThan(100e6);
  });

  it('slowloris (a byte every 100 ms): every connection is closed within the message deadline', async () => {
    const socks = await Promise.all(
      sources(20, 4).flatMap((src) => Array.from({ length: PER_SOURCE }, () => open(element.port, src))),
    );
    const drip = Buffer.from('INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.20\r\n', 'latin1');
    let i = 0;
    const timer = setInterval(() => {
      const b = drip.subarray(i % drip.length, (i % drip.length) + 1);
      i++;
      for (const s of socks) if (s !== undefined && !s.destroyed) s.write(b);
    }, 100);
    try {
      const started = Date.now();
      const peak = await held(socks);
      const lat = await callsDuring(20);
      while ((await held(socks)) > 0 && Date.now() - started < MESSAGE_TIMEOUT_MS + 2000) await sleep(50);
      const clearedMs = Date.now() - started;
      const after = await held(socks);
      record(
        {
          attack: 'slowloris (4 sources x 50)',
          opened: socks.length,
          heldPeak: peak,
          heldAfter: after,
          clearedMs,
        },
        lat,
      );
      expect(peak).toBe(4 * PER_SOURCE);
      expect(after).toBe(0);
      expect(Date.now() - started).toBeLessThan(MESSAGE_TIMEOUT_MS + 2000);
    } finally {
      clearInterval(timer);
    }
  });

  it('a stream without end of headers (500-byte lines every 5 ms): closed at max_message_bytes or the deadline', async () => {
    const socks = await Promise.all(
      sources(30, 2).flatMap((src) => Array.from({ length: 10 }, () => open(element.port, src))),
    );
    const line = Buffer.from(`X-Pad: ${'p'.repeat(500)}\r\n`, 'latin1');
    const pump = setInterval(() => {
      for (const s of socks) if (s !== undefined && !s.destroyed) s.write(line);
    }, 5);
    try {
      const started = Date.now();
      const peak = await held(socks);
      const lat = await callsDuring(20);
      while ((await held(socks)) > 0 && Date.now() - started < 3000) await sleep(50);
      const clearedMs = Date.now() - started;
      const after = await held(socks);
      record(
        {
          attack: 'no end of headers (2 sources x 10)',
          opened: socks.length,
          heldPeak: peak,
          heldAfter: after,
          clearedMs,
        },
        lat,
      );
      expect(after).toBe(0);
    } finally {
      clearInterval(pump);
    }
  });

  it('a connection flood: refused past the caps, and a new legitimate connection still gets in', async () => {
    const rss = process.memoryUsage().rss;
    const socks = await Promise.all(
      sources(40, 8).flatMap((src) => Array.from({ length: 100 }, () => open(element.port, src))),
    );
    const lat = await callsDuring(20);
    const peak = await held(socks);
    // 8 sources x 50 = 400 wanted, the element's cap is 300 (the caller holds one).
    expect(peak).toBe(MAX_CONNECTIONS - 1);
    for (const s of socks.slice(0, 200)) s?.destroy();
    await sleep(200);
    const fresh = await open(element.port, '127.0.0.1');
    const second = new Caller(fresh!);
    expect(await second.call(element.port)).toBeGreaterThan(0);
    fresh!.destroy();
    record(
      {
        attack: 'flood (8 sources x 100)',
        opened: socks.length,
        heldPeak: peak,
        heldAfter: await held(socks),
      },
      lat,
    );
    expect(process.memoryUsage().rss - rss).toBeLessThan(100e6);
  });
});

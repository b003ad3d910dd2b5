/**
 * docs/errors.md, "SIP messages we refuse": every row is sent over UDP and over TCP to a real transport and
 * transaction layer, and the answer must be the row's (a status, or `dropped`). The rows are read from the
 * document, so a row without a case here, or a case without a row, fails.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionLayer } from '../../src/sip/transaction/transaction-layer.js';
import { TransportLayer } from '../../src/sip/transport/transport-layer.js';

const LIMITS = { maxMessageSize: 16_384, maxHeaders: 64, maxLineLength: 1024 };

interface Row {
  readonly code: string;
  readonly answer: string;
}

function rows(): Row[] {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = doc.split('\n## SIP messages we refuse')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/^\| `(\w+)` \| ([^|]+?) \|/gm)].map((m) => ({ code: m[1]!, answer: m[2]! }));
}

let seq = 0;
/** A request with `edit` applied to its header lines; Content-Length matches `body` unless a line sets it. */
function request(edit: (lines: string[]) => string[] = (l) => l, body = ''): (via: string) => Buffer {
  return (via) => {
    const n = ++seq;
    const lines = edit([
      'INVITE sip:+12025550101@127.0.0.1 SIP/2.0',
      `Via: ${via};branch=z9hG4bK-doc${n}`,
      'Max-Forwards: 70',
      `From: <sip:+12025550100@127.0.0.2>;tag=f${n}`,
      'To: <sip:+12025550101@127.0.0.1>',
      `Call-ID: doc${n}@test`,
      'CSeq: 1 INVITE',
      `Content-Length: ${Buffer.byteLength(body)}`,
    ]);
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  };
}
const replace = (name: string, line: string) => (ls: string[]) =>
  ls.map((l) => (l.toLowerCase().startsWith(`${name.toLowerCase()}:`) ? line : l));
const add =
  (...more: string[]) =>
  (ls: string[]) => [...ls.slice(0, -1), ...more, ls.at(-1)!];

/** One message per code; `udpOnly` names why the stream has no such case. */
const CASES: Record<string, { readonly make: (via: string) => Buffer; readonly udpOnly?: string }> = {
  too_large: { make: request(add('Content-Type: application/sdp'), 'v'.repeat(20_000)) },
  too_many_headers: { make: request(add(...Array.from({ length: 80 }, (_, i) => `X-H${i}: v`))) },
  line_too_long: { make: request(add(`Subject: ${'s'.repeat(2000)}`)) },
  incomplete: {
    make: request(replace('content-length', 'Content-Length: 100')),
    udpOnly: 'on a stream a short body is waited for (the message deadline closes it: tcp-abuse tests)',
  },
  bad_start_line: {
    make: request((ls) => ['INVITE sip:+12025550101@127.0.0.1 sip:extra SIP/2.0', ...ls.slice(1)]),
  },
  bad_version: { make: request((ls) => ['INVITE sip:+12025550101@127.0.0.1 SIP/7.0', ...ls.slice(1)]) },
  bad_status_code: {
    make: (via) =>
      Buffer.from(
        `SIP/2.0 99 Odd\r\nVia: ${via};branch=z9hG4bK-r${++seq}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n` +
          'Call-ID: r@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
        'latin1',
      ),
  },
  bad_header: { make: request(add('ThisLineHasNoColon')) },
  bad_octets: { make: request(add('Subject: nul\0here', 'X-Latin1: J\xfcrgen')) },
  missing_header: { make: request((ls) => ls.filter((l) => !l.startsWith('Call-ID'))) },
  duplicate_header: { make: request(add('CSeq: 2 INVITE')) },
  bad_content_length: { make: request(replace('content-length', 'Content-Length: ten')) },
  bad_cseq: { make: request(replace('cseq', 'CSeq: one INVITE')) },
  cseq_method_mismatch: { make: request(replace('cseq', 'CSeq: 1 BYE')) },
  bad_max_forwards: { make: request(replace('max-forwards', 'Max-Forwards: 300')) },
  bad_via: { make: request(add('Via: not a via at all')) },
  bad_uri: {
    make: request((ls) => ['INVITE sip:+12025550101@127.0.0.1?Subject=x SIP/2.0', ...ls.slice(1)]),
  },
  bad_name_addr: { make: request(replace('from', 'From: <sip:+12025550100@127.0.0.2;tag=1')) },
};

let transport: TransportLayer;
let transactions: TransactionLayer;
let port: number;
let udp: UdpSocket;
const udpIn: Buffer[] = [];

beforeAll(async () => {
  transport = new TransportLayer(LIMITS);
  await transport.listen([
    { protocol: 'udp', address: '127.0.0.1', port: 0 },
    { protocol: 'tcp', address: '127.0.0.1', port: 0 },
  ]);
  port = transport.localEndpoint('udp').port;
  transactions = new TransactionLayer(transport);
  udp = createSocket('udp4');
  udp.on('message', (m) => udpIn.push(m));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
});
afterAll(async () => {
  udp.close();
  transactions.close();
  await transport.close();
});

function statusOf(buf: Buffer | undefined): string {
  if (buf === undefined || buf.length === 0) return 'dropped';
  return (
    /^SIP\/2\.0 (\d{3}) /.exec(buf.toString('latin1'))?.[1] ?? `unexpected: ${buf.toString('latin1', 0, 40)}`
  );
}

async function overUdp(make: (via: string) => Buffer): Promise<string> {
  udpIn.length = 0;
  const { port: own } = udp.address();
  udp.send(make(`SIP/2.0/UDP 127.0.0.1:${own};rport`), port, '127.0.0.1');
  const end = Date.now() + 400;
  while (udpIn.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return statusOf(udpIn[0]);
}

/** Send on a fresh connection; the first response on it (or `dropped`) and whether the element closed it. */
async function overTcp(make: (via: string) => Buffer): Promise<{ answer: string; closed: boolean }> {
  const tcpPort = transport.localEndpoint('tcp').port;
  const s: Socket = await new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port: tcpPort }, () => resolve(c));
    c.once('error', reject);
  });
  s.on('error', () => {});
  const chunks: Buffer[] = [];
  let closed = false;
  s.on('data', (d) => chunks.push(d));
  s.on('close', () => {
    closed = true;
  });
  s.write(make(`SIP/2.0/TCP 127.0.0.1:${s.localPort}`));
  const end = Date.now() + 400;
  while (chunks.length === 0 && !closed && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  s.destroy();
  return { answer: statusOf(chunks.length === 0 ? undefined : Buffer.concat(chunks)), closed };
}

const table = rows();
/** Framing errors: the stream cannot go on (docs/errors.md above the table). */
const FRAMING = new Set(['too_large', 'too_many_headers', 'line_too_long', 'bad_content_length']);

describe('docs/errors.md: SIP messages we refuse', () => {
  it('has a case for every row and a row for every case', () => {
    expect(table.length).toBeGreaterThanOrEqual(18);
    expect(table.map((r) => r.code).sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const { code, answer } of table) {
    const c = CASES[code];
    it(`${code}: ${answer} over UDP`, async () => {
      expect(await overUdp(c!.make)).toBe(answer);
    });
    // A stream has no such case (the reason is in `udpOnly`): no TCP test for it, rather than a skipped one.
    if (c?.udpOnly !== undefined) continue;
    it(`${code}: ${answer} over TCP`, async () => {
      const got = await overTcp(c!.make);
      expect(got.answer).toBe(answer);
      // A framing error closes the connection after the answer; a framed message leaves it open.
      expect(got.closed).toBe(FRAMING.has(code));
    });
  }
});

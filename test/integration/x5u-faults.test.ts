/**
 * The x5u fault harness (issue 18): a certificate server on 127.0.0.1 that never answers, drips a byte at a
 * time, sends 10 MB (with and without a length), redirects (to itself, to a link-local address, in a loop,
 * to a good certificate), returns garbage or a 500 (test/support/x5u-fault-server.ts). For each fault, calls
 * through a running element's terminating trunk carry an Identity whose x5u is the faulty URL (a URL of
 * their own each, so every one is a fetch) interleaved with calls carrying a good Identity whose
 * certificate is on a healthy URL. The good calls must keep verifying (TN-Validation-Passed at the callee)
 * without waiting on the faulty fetches, the faulty ones must fail within the x5u deadline, no redirect is
 * followed (RFC 8224 §6.2.3 and our fetch: only a 200 counts), and the good certificate is fetched once for
 * the whole file: no failure evicts it. Figures: the setup latency of each call, printed per fault.
 */
import { createPrivateKey, sign as cryptoSign, type KeyObject, randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, type VerifyEvent } from '../../src/events.js';
import type { SipRequest, SipResponse } from '../../src/sip/message/message.js';
import { parseMessage } from '../../src/sip/message/parse.js';
import { createDevPki, type DevPki } from '../../src/stir/pki/dev-pki.js';
import { type Element, startElement } from '../support/element.js';
import { ackOf, callerInvite, responseTo } from '../support/peer-messages.js';
import { freePort } from '../support/ports.js';
import { startX5uFaultServer, X5U_FAULTS, type X5uFaultServer } from '../support/x5u-fault-server.js';

/** Calls with a faulty x5u per fault, and as many good calls between them. */
const CALLS = 8;
const SPACING_MS = 25;
const X5U_TIMEOUT_MS = 500;
/** A good call's setup (INVITE sent -> B-leg INVITE at the callee) while a fault is on; measured ~2-10 ms. */
const GOOD_BOUND_MS = 250;

interface Placed {
  readonly latencyMs: number;
  readonly verstat: string;
}

let dir: string;
let pki: DevPki;
let spKey: KeyObject;
let faults: X5uFaultServer;
let element: Element;
let uac: Socket;
let uas: Socket;
const sentAt = new Map<string, number>();
const arrived = new Map<string, (p: Placed) => void>();
const finals = new Map<string, () => void>();
const invites = new Map<string, SipRequest>();
const verifyCodes: string[] = [];
const onVerify = (m: unknown): void => {
  verifyCodes.push((m as VerifyEvent).code);
};

const b64u = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** A full-form SHAKEN Identity value (RFC 8224 §4.1, RFC 8588) for the caller and callee of callerInvite. */
function identity(x5u: string): string {
  const header = { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u };
  const claims = {
    attest: 'A',
    dest: { tn: ['12025550101'] },
    iat: Math.floor(Date.now() / 1000),
    orig: { tn: '12025550100' },
    origid: randomUUID(),
  };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const sig = cryptoSign('sha256', Buffer.from(input), { key: spKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)};info=<${x5u}>;alg=ES256;ppt=shaken`;
}

function bind(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

/** One call: INVITE from the caller; resolves when the callee has it (the caller ACKs the 486 later). */
function placeCall(x5u: string, tag: string): Promise<Placed> {
  const uacPort = uac.address().port;
  const text = callerInvite({
    caller: { address: '127.0.0.1', port: uacPort },
    to: { address: '127.0.0.1', port: element.port },
    callId: `${tag}@x5u-faults`,
    headers: [`Identity: ${identity(x5u)}`, `X-Fault-Call: ${tag}`],
  });
  invites.set(`${tag}@x5u-faults`, parseMessage(Buffer.from(text, 'latin1')) as SipRequest);
  return new Promise<Placed>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`call ${tag}: no INVITE at the callee within 5 s`)), 5000);
    arrived.set(tag, (p) => {
      clearTimeout(t);
      resolve(p);
    });
    finals.set(`${tag}@x5u-faults`, () => {});
    sentAt.set(tag, performance.now());
    uac.send(text, element.port, '127.0.0.1');
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const figures: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-x5u-faults-'));
  pki = await createDevPki(join(dir, 'pki'));
  spKey = createPrivateKey(pki.spKeyPem);
  await mkdir(join(dir, 'roots'));
  await writeFile(join(dir, 'roots', 'ca.pem'), pki.caPem);
  faults = await startX5uFaultServer(pki.spChainPem);
  uac = await bind();
  uas = await bind();
  // The callee: note each INVITE's arrival and verstat, answer 486 (no dialog to clean up).
  uas.on('message', (buf, rinfo) => {
    const m = parseMessage(buf);
    if (!m.isRequest() || m.method !== 'INVITE') return;
    const tag = m.get('x-fault-call') ?? '';
    const verstat = /verstat=([A-Za-z-]+)/.exec(m.get('from') ?? '')?.[1] ?? 'none';
    arrived.get(tag)?.({ latencyMs: performance.now() - sentAt.get(tag)!, verstat });
    arrived.delete(tag);
    uas.send(responseTo(m, 486, { toTag: `uas-${tag}`, reason: 'Busy Here' }), rinfo.port, rinfo.address);
  });
  // The caller: ACK every final non-2xx (RFC 3261 §17.1.1.3).
  uac.on('message', (buf, rinfo) => {
    const m = parseMessage(buf);
    if (m.isRequest()) return;
    const res = m as SipResponse;
    if (res.status < 300) return;
    const invite = invites.get(res.callId);
    if (invite === undefined) return;
    uac.send(ackOf(invite, res), rinfo.port, rinfo.address);
    invites.delete(res.callId);
    finals.get(res.callId)?.();
  });
  const port = await freePort('udp');
  element = await startElement(
    `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
trunks:
  - name: carrier
    match: { sources: [127.0.0.1/32] }
    role: terminating
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${uas.address().port}, transport: udp }]
stir:
  verification:
    trust_roots_dir: ${join(dir, 'roots')}
    x5u:
      allow_http: true
      allowed_ports: [${faults.port}]
      allow_cidrs: [127.0.0.1/32]
      timeout_ms: ${X5U_TIMEOUT_MS}
data_dir: {data_dir}
`,
    { port },
  );
  channels.verify.subscribe(onVerify);
  // Warm the good certificate once.
  const warm = await placeCall(faults.url('/good.pem'), 'warm');
  expect(warm.verstat).toBe('TN-Validation-Passed');
}, 60_000);

afterAll(async () => {
  channels.verify.unsubscribe(onVerify);
  if (figures.length > 0)
    console.log(`x5u faults, ${CALLS} + ${CALLS} calls each (setup latency, ms):\n${figures.join('\n')}`);
  await element?.stop();
  uac?.close();
  uas?.close();
  await faults?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('x5u certificate server faults: good calls keep verifying', () => {
  for (const fault of X5U_FAULTS) {
    it(fault, async () => {
      verifyCodes.length = 0;
      const bad: Promise<Placed>[] = [];
      const good: Promise<Placed>[] = [];
      for (let i = 0; i < CALLS; i++) {
        bad.push(placeCall(faults.url(`/${fault}/${i}.pem`), `${fault}-bad-${i}`));
        await new Promise((r) => setTimeout(r, SPACING_MS));
        good.push(placeCall(faults.url('/good.pem'), `${fault}-good-${i}`));
        await new Promise((r) => setTimeout(r, SPACING_MS));
      }
      const goods = await Promise.all(good);
      const bads = await Promise.all(bad);

      expect(goods.map((g) => g.verstat)).toEqual(Array(CALLS).fill('TN-Validation-Passed'));
      expect(bads.map((b) => b.verstat)).toEqual(Array(CALLS).fill('TN-Validation-Failed'));
      const g = goods.map((x) => x.latencyMs).sort((a, b) => a - b);
      const b = bads.map((x) => x.latencyMs).sort((a, b) => a - b);
      expect(percentile(g, 100)).toBeLessThan(GOOD_BOUND_MS);
      // Each faulty fetch ends by the x5u deadline (a slow machine gets 400 ms of slack).
      expect(percentile(b, 100)).toBeLessThan(X5U_TIMEOUT_MS + 400);
      const codes = [...new Set(verifyCodes.filter((c) => c !== 'passed'))].sort();
      expect(verifyCodes.filter((c) => c === 'passed').length).toBe(CALLS);
      if (fault.startsWith('redirect')) {
        // One request per call: the redirect is never followed, wherever it points.
        expect(faults.requests.get(fault)).toBe(CALLS);
        expect(faults.requests.get('redirect-loop-b') ?? 0).toBe(0);
        expect(faults.requests.get('good-by-redirect.pem') ?? 0).toBe(0);
      }
      figures.push(
        `  ${fault.padEnd(17)} good p50 ${g[Math.floor(CALLS / 2)]!.toFixed(1)} max ${percentile(g, 100).toFixed(1)}; ` +
          `faulty p50 ${b[Math.floor(CALLS / 2)]!.toFixed(1)} max ${percentile(b, 100).toFixed(1)} (${codes.join(', ')})` +
          (fault.startsWith('huge')
            ? `; server wrote ${((faults.bytesSent.get(fault) ?? 0) / CALLS / 1024).toFixed(0)} KiB per call of 10 MiB`
            : ''),
      );
    });
  }

  it('the good certificate was fetched once for the whole file: no failure evicted it', () => {
    expect(faults.requests.get('good.pem')).toBe(1);
  });

  it('every call ended: no call or dialog left', async () => {
    const deadline = performance.now() + 5000;
    let s = element.app.stats();
    while ((s.calls > 0 || s.dialogs > 0) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      s = element.app.stats();
    }
    expect([s.calls, s.dialogs]).toEqual([0, 0]);
  });
});

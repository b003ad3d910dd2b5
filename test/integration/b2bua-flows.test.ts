// Every call flow of sip-scenarios/ through a running Stirgate with real SIPp on both sides:
// UAC 127.0.0.2 -> Stirgate 127.0.0.1 -> UAS 127.0.0.1, over UDP, over TCP, and mixed (UDP in, TCP out).
// Each run asserts SIPp's own success/failure counts on both sides (the UAS also checks, by regex, that no
// A-leg address or Call-ID leaked into the B-leg) and that the element ends with no call, dialog or
// transaction left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import {
  runSipp,
  type SippResult,
  type SippTransport,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING b2bua-flows: no sipp binary (apt-get install sip-tester)\n');

type Mode = { name: string; aleg: SippTransport; bleg: SippTransport };
const MODES: readonly Mode[] = [
  { name: 'udp', aleg: 'u1', bleg: 'u1' },
  { name: 'tcp', aleg: 't1', bleg: 't1' },
  { name: 'mixed udp->tcp', aleg: 'u1', bleg: 't1' },
];

interface Flow {
  readonly name: string;
  readonly uac: string;
  readonly uas?: string;
  readonly keys?: Record<string, string>;
  readonly calls?: number;
  /** UAC expects no UAS (refused at the element). */
  readonly noUas?: boolean;
}

const FLOWS: readonly Flow[] = [
  { name: 'basic', uac: 'basic/uac.xml', uas: 'basic/uas.xml' },
  { name: 'bye-callee', uac: 'bye-callee/uac.xml', uas: 'bye-callee/uas.xml' },
  { name: 'cancel', uac: 'cancel/uac.xml', uas: 'cancel/uas.xml' },
  { name: 'reject 486', uac: 'reject/uac.xml', uas: 'reject/uas.xml', keys: { status: '486' } },
  { name: 'reject 404', uac: 'reject/uac.xml', uas: 'reject/uas.xml', keys: { status: '404' } },
  { name: 'reinvite-caller', uac: 'reinvite-caller/uac.xml', uas: 'reinvite-caller/uas.xml' },
  { name: 'reinvite-callee', uac: 'reinvite-callee/uac.xml', uas: 'reinvite-callee/uas.xml' },
  { name: 'update', uac: 'update/uac.xml', uas: 'update/uas.xml' },
  { name: 'info', uac: 'info/uac.xml', uas: 'info/uas.xml' },
  { name: 'prack', uac: 'prack/uac.xml', uas: 'prack/uas.xml' },
  { name: 'options-in-dialog', uac: 'options-in-dialog/uac.xml', uas: 'options-in-dialog/uas.xml' },
  { name: 'retrans-2xx', uac: 'retrans-2xx/uac.xml', uas: 'retrans-2xx/uas.xml' },
  { name: 'missing-ack', uac: 'missing-ack/uac.xml', uas: 'missing-ack/uas.xml', calls: 3 },
  { name: 'max-forwards-0', uac: 'max-forwards-0/uac.xml', noUas: true },
];

const CALLS = 10;
const T1_MS = 100;

function config(sipPort: number, hops: readonly { port: number; transport: 'udp' | 'tcp' }[]): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: ${sipPort} }
  - { transport: tcp, address: 127.0.0.1, port: ${sipPort} }
sip:
  timers: { t1_ms: ${T1_MS}, t2_ms: 400, t4_ms: 500 }
trunks:
  - name: uac
    match: { sources: [127.0.0.2/32] }
    role: passthrough
    route: next
routes:
  - name: next
    failover_on: [503]
    next_hops:
${hops.map((h) => `      - { address: 127.0.0.1, port: ${h.port}, transport: ${h.transport} }`).join('\n')}
data_dir: {data_dir}
`;
}

function explain(r: SippResult): string {
  return `exit ${r.exitCode} ok ${r.successful} failed ${r.failed}\nargs: ${r.args.join(' ')}\n${r.errorLog ?? ''}\n${r.stderr.slice(-2000)}`;
}

async function runFlow(mode: Mode, flow: Flow): Promise<void> {
  const calls = flow.calls ?? CALLS;
  const sipPort = await freePort('both');
  const bproto = mode.bleg === 't1' ? 'tcp' : 'udp';
  const uas = flow.noUas
    ? undefined
    : await startSippServer({
        scenario: scenarioPath(flow.uas!),
        transport: mode.bleg,
        calls,
        timeoutS: 30,
        ...(flow.keys ? { keys: flow.keys } : {}),
      });
  const hopPort = uas?.port ?? (await freePort('both'));
  const el = await startElement(config(sipPort, [{ port: hopPort, transport: bproto }]), { port: sipPort });
  try {
    await uas?.ready;
    const uac = await runSipp({
      scenario: scenarioPath(flow.uac),
      remote: `127.0.0.1:${sipPort}`,
      transport: mode.aleg,
      calls,
      rate: 20,
      timeoutS: 30,
      ...(flow.keys ? { keys: flow.keys } : {}),
    });
    expect(uac.failed, explain(uac)).toBe(0);
    expect(uac.successful, explain(uac)).toBe(calls);
    if (uas !== undefined) {
      const r = await Promise.race([
        uas.result,
        new Promise<undefined>((res) => setTimeout(() => res(undefined), 10_000)),
      ]);
      const final = r ?? (await uas.stop());
      expect(final.failed, explain(final)).toBe(0);
      expect(final.successful, explain(final)).toBe(calls);
    }
    // Everything freed: no call, dialog or transaction left once the wait timers (64*T1) ran out.
    const left = await el.drained(64 * T1_MS + 5_000);
    expect(left).toMatchObject({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
  } finally {
    if (uas !== undefined) await uas.stop().catch(() => undefined);
    await el.stop();
  }
}

describe.skipIf(!HAVE_SIPP)('B2BUA call flows through Stirgate with SIPp', () => {
  for (const mode of MODES) {
    // Each flow has its own element, ports and SIPp pair: they run side by side.
    describe.concurrent(mode.name, () => {
      for (const flow of FLOWS) {
        if (flow.noUas && mode.bleg !== mode.aleg) continue;
        it(flow.name, () => runFlow(mode, flow), 60_000);
      }
    });
  }

  describe('failover', () => {
    let el: Element | undefined;
    afterAll(async () => el?.stop());
    for (const mode of MODES) {
      it(`503 from the first hop moves to the second (${mode.name})`, async () => {
        const calls = CALLS;
        const bad = await startSippServer({
          scenario: scenarioPath('failover/uas-503.xml'),
          transport: mode.bleg,
          calls,
          timeoutS: 30,
        });
        const good = await startSippServer({
          scenario: scenarioPath('failover/uas.xml'),
          transport: mode.bleg,
          calls,
          timeoutS: 30,
        });
        const sipPort = await freePort('both');
        const bproto = mode.bleg === 't1' ? 'tcp' : 'udp';
        el = await startElement(
          config(sipPort, [
            { port: bad.port, transport: bproto },
            { port: good.port, transport: bproto },
          ]),
          { port: sipPort },
        );
        try {
          await Promise.all([bad.ready, good.ready]);
          const uac = await runSipp({
            scenario: scenarioPath('failover/uac.xml'),
            remote: `127.0.0.1:${sipPort}`,
            transport: mode.aleg,
            calls,
            rate: 20,
            timeoutS: 30,
          });
          expect(uac.failed, explain(uac)).toBe(0);
          expect(uac.successful, explain(uac)).toBe(calls);
          const g = await good.stop();
          expect(g.failed, explain(g)).toBe(0);
          expect(g.successful, explain(g)).toBe(calls);
          const b = await bad.stop();
          expect(b.failed, explain(b)).toBe(0);
          expect(b.successful, explain(b)).toBe(calls);
          const left = await el.drained(64 * T1_MS + 5_000);
          expect(left).toMatchObject({ calls: 0, dialogs: 0 });
        } finally {
          await bad.stop().catch(() => undefined);
          await good.stop().catch(() => undefined);
          await el.stop();
          el = undefined;
        }
      }, 60_000);
    }
  });
});

beforeAll(() => undefined);

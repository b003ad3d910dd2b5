// Validates every scenario under sip-scenarios/ sipp to sipp, without Stirgate: each UAC against its
// UAS (or, for flows only a B2BUA can complete, against a stand-in that plays Stirgate's part), over
// UDP and TCP, with neutral markers so the leak checks pass. Then proves the checks can fail.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import {
  DIRECT_MARKERS,
  runSipp,
  SCENARIO_DIR,
  type SippMarkers,
  type SippResult,
  type SippTransport,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) {
  console.warn(
    '\n!!! SKIPPING test/integration/sipp-scenarios.test.ts: no sipp binary on PATH (apt-get install sip-tester, or set SIPP_BIN)\n',
  );
}

/** The UAC sits here in direct runs: a loopback address that is not the 127.0.0.2 the UAS checks for. */
const DIRECT_UAC_IP = '127.0.0.3';
const CALLS = 5;

interface Pair {
  readonly name: string;
  readonly uac: string;
  readonly uas: string;
  /** -key values for both sides (reject/ reads `status`). */
  readonly keys?: Readonly<Record<string, string>>;
  readonly calls?: number;
  readonly rate?: number;
}

const PAIRS: readonly Pair[] = [
  { name: 'basic', uac: 'basic/uac.xml', uas: 'basic/uas.xml' },
  { name: 'bye-callee', uac: 'bye-callee/uac.xml', uas: 'bye-callee/uas.xml' },
  { name: 'cancel', uac: 'cancel/uac.xml', uas: 'cancel/uas.xml' },
  { name: 'reject 486', uac: 'reject/uac.xml', uas: 'reject/uas.xml', keys: { status: '486' } },
  { name: 'reject 404', uac: 'reject/uac.xml', uas: 'reject/uas.xml', keys: { status: '404' } },
  { name: 'reject 503', uac: 'reject/uac.xml', uas: 'reject/uas.xml', keys: { status: '503' } },
  { name: 'reinvite-caller', uac: 'reinvite-caller/uac.xml', uas: 'reinvite-caller/uas.xml' },
  { name: 'reinvite-callee', uac: 'reinvite-callee/uac.xml', uas: 'reinvite-callee/uas.xml' },
  { name: 'update', uac: 'update/uac.xml', uas: 'update/uas.xml' },
  { name: 'info', uac: 'info/uac.xml', uas: 'info/uas.xml' },
  { name: 'prack', uac: 'prack/uac.xml', uas: 'prack/uas.xml' },
  { name: 'options-in-dialog', uac: 'options-in-dialog/uac.xml', uas: 'options-in-dialog/uas.xml' },
  { name: 'retrans-2xx', uac: 'retrans-2xx/uac.xml', uas: 'retrans-2xx/uas.xml' },
  // Flows that need Stirgate in the middle: each side against something that plays Stirgate's part.
  { name: 'missing-ack caller vs stand-in', uac: 'missing-ack/uac.xml', uas: 'missing-ack/standin-uas.xml' },
  { name: 'missing-ack callee vs basic caller', uac: 'basic/uac.xml', uas: 'missing-ack/uas.xml' },
  {
    name: 'max-forwards-0 vs stand-in',
    uac: 'max-forwards-0/uac.xml',
    uas: 'max-forwards-0/standin-uas.xml',
  },
  {
    name: 'failover 503 target',
    uac: 'reject/uac.xml',
    uas: 'failover/uas-503.xml',
    keys: { status: '503' },
  },
  { name: 'failover answering target', uac: 'failover/uac.xml', uas: 'failover/uas.xml' },
  { name: 'options-ping', uac: 'options-ping.xml', uas: 'options-ping-uas.xml', calls: 200, rate: 1000 },
];

interface PairRun {
  readonly uac: SippResult;
  readonly uas: SippResult;
}

interface PairOptions {
  readonly transport: SippTransport;
  readonly calls: number;
  readonly rate?: number;
  readonly keys?: Readonly<Record<string, string>>;
  readonly uacIp?: string;
  readonly uacMarkers?: SippMarkers;
  readonly uasMarkers?: SippMarkers;
}

async function runPair(uac: string, uas: string, opts: PairOptions): Promise<PairRun> {
  const server = await startSippServer({
    scenario: scenarioPath(uas),
    transport: opts.transport,
    calls: opts.calls,
    timeoutS: 20,
    markers: opts.uasMarkers ?? DIRECT_MARKERS,
    ...(opts.keys ? { keys: opts.keys } : {}),
  });
  try {
    await server.ready;
    const client = await runSipp({
      scenario: scenarioPath(uac),
      remote: `127.0.0.1:${server.port}`,
      transport: opts.transport,
      localIp: opts.uacIp ?? DIRECT_UAC_IP,
      calls: opts.calls,
      rate: opts.rate ?? 50,
      timeoutS: 15,
      markers: opts.uacMarkers ?? DIRECT_MARKERS,
      ...(opts.keys ? { keys: opts.keys } : {}),
    });
    // The UAS exits by itself after `calls` calls; give it a moment for its last message, then stop it.
    const uasResult = await Promise.race([server.result, delay(3_000).then(() => server.stop())]);
    return { uac: client, uas: uasResult };
  } finally {
    await server.stop();
  }
}

function describeRun(label: string, r: SippResult): string {
  return [
    `${label}: exit ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' TIMED OUT' : ''}, ` +
      `created ${r.created}, successful ${r.successful}, failed ${r.failed}`,
    `  sipp ${r.args.join(' ')}`,
    r.stderr.trim() ? `  stderr: ${r.stderr.trim().slice(0, 2_000)}` : '',
    r.errorLog ? `  error log: ${r.errorLog.slice(0, 4_000)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function expectAllSucceeded(run: PairRun, calls: number): void {
  const report = `${describeRun('UAC', run.uac)}\n${describeRun('UAS', run.uas)}`;
  expect(
    { uac: [run.uac.successful, run.uac.failed], uas: [run.uas.successful, run.uas.failed] },
    report,
  ).toEqual({
    uac: [calls, 0],
    uas: [calls, 0],
  });
  expect([run.uac.exitCode, run.uas.exitCode], report).toEqual([0, 0]);
}

describe.skipIf(!HAVE_SIPP)('sip-scenarios, sipp to sipp', () => {
  for (const transport of ['u1', 't1'] as const) {
    describe.concurrent(transport === 'u1' ? 'UDP' : 'TCP', () => {
      for (const pair of PAIRS) {
        it(pair.name, async () => {
          const calls = pair.calls ?? CALLS;
          const run = await runPair(pair.uac, pair.uas, {
            transport,
            calls,
            ...(pair.rate === undefined ? {} : { rate: pair.rate }),
            ...(pair.keys ? { keys: pair.keys } : {}),
          });
          expectAllSucceeded(run, calls);
        });
      }
    });
  }

  describe.concurrent('the checks can fail', () => {
    it('UAS fails every call that comes from 127.0.0.2 (A-leg address leaked)', async () => {
      const run = await runPair('basic/uac.xml', 'basic/uas.xml', {
        transport: 'u1',
        calls: 3,
        uacIp: '127.0.0.2',
      });
      expect(run.uas.failed, describeRun('UAS', run.uas)).toBe(3);
      expect(run.uac.successful, describeRun('UAC', run.uac)).toBe(3);
    });

    it('UAS fails every call that carries ALEG- (A-leg Call-ID, tag or Contact leaked)', async () => {
      const run = await runPair('basic/uac.xml', 'basic/uas.xml', {
        transport: 't1',
        calls: 3,
        uacMarkers: { aleg: 'ALEG', bleg: 'UAS' },
      });
      expect(run.uas.failed, describeRun('UAS', run.uas)).toBe(3);
      expect(run.uas.stats['FailedRegexpShouldntMatch(C)']).toBe('3');
    });

    it('UAC fails every call that carries BLEG- (B-leg tag or Contact leaked)', async () => {
      const run = await runPair('bye-callee/uac.xml', 'bye-callee/uas.xml', {
        transport: 'u1',
        calls: 3,
        uasMarkers: { aleg: 'UAC', bleg: 'BLEG' },
      });
      expect(run.uac.failed, describeRun('UAC', run.uac)).toBe(3);
      expect(run.uac.stats['FailedRegexpShouldntMatch(C)']).toBe('3');
    });

    it('reject caller fails when the final status differs from -key status', async () => {
      const server = await startSippServer({
        scenario: scenarioPath('reject/uas.xml'),
        transport: 'u1',
        calls: 2,
        timeoutS: 20,
        markers: DIRECT_MARKERS,
        keys: { status: '486' },
      });
      try {
        await server.ready;
        const uac = await runSipp({
          scenario: scenarioPath('reject/uac.xml'),
          remote: `127.0.0.1:${server.port}`,
          transport: 'u1',
          localIp: DIRECT_UAC_IP,
          calls: 2,
          timeoutS: 15,
          markers: DIRECT_MARKERS,
          keys: { status: '404' },
        });
        expect(uac.failed, describeRun('UAC', uac)).toBe(2);
      } finally {
        await server.stop();
      }
    });

    it('missing-ack stand-in fails a caller that does send the ACK', async () => {
      const run = await runPair('basic/uac.xml', 'missing-ack/standin-uas.xml', {
        transport: 'u1',
        calls: 2,
      });
      expect(run.uas.failed, describeRun('UAS', run.uas)).toBe(2);
    });
  });
});

describe.skipIf(!HAVE_SIPP)('sipp harness', () => {
  it('reports a timeout, not a pass, when nobody answers', async () => {
    const silent = await freePort('udp');
    const r = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${silent}`,
      transport: 'u1',
      localIp: DIRECT_UAC_IP,
      calls: 1,
      timeoutS: 1,
    });
    expect(r.timedOut, describeRun('UAC', r)).toBe(true);
    expect(r.exitCode).toBe(255);
    expect(r.successful).toBe(0);
    expect(r.created).toBe(1);
  });

  it('surfaces a scenario SIPp refuses to load (missing key)', async () => {
    const r = await runSipp({
      scenario: scenarioPath('reject/uac.xml'),
      remote: '127.0.0.1:9',
      transport: 'u1',
      localIp: DIRECT_UAC_IP,
      calls: 1,
      timeoutS: 5,
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.successful).toBe(0);
    expect(r.stderr).toMatch(/Unsupported keyword 'status'/);
  });
});

/** The flow folders this file validates (other helpers add their own folders beside them, e.g. verify/). */
const FLOWS = [
  'basic',
  'bye-callee',
  'cancel',
  'failover',
  'info',
  'max-forwards-0',
  'missing-ack',
  'options-in-dialog',
  'prack',
  'reinvite-callee',
  'reinvite-caller',
  'reject',
  'retrans-2xx',
  'update',
] as const;

describe('sip-scenarios layout', () => {
  it('every scenario file of these flows is exercised above', async () => {
    const files = ['options-ping.xml', 'options-ping-uas.xml'];
    for (const flow of FLOWS) {
      const names = await readdir(join(SCENARIO_DIR, flow));
      files.push(...names.filter((n) => n.endsWith('.xml')).map((n) => `${flow}/${n}`));
    }
    const used = new Set(PAIRS.flatMap((p) => [p.uac, p.uas]));
    expect(files.filter((f) => !used.has(f))).toEqual([]);
    expect([...used].filter((f) => !files.includes(f))).toEqual([]);
  });

  it('failover/uac.xml and failover/uas.xml are byte-identical to basic/', async () => {
    for (const side of ['uac.xml', 'uas.xml']) {
      const basic = await readFile(scenarioPath(`basic/${side}`), 'utf8');
      const failover = await readFile(scenarioPath(`failover/${side}`), 'utf8');
      expect(failover, side).toBe(basic);
    }
  });

  it('every flow folder has a README.md and the index names it', async () => {
    const index = await readFile(scenarioPath('README.md'), 'utf8');
    for (const flow of FLOWS) {
      const names = await readdir(join(SCENARIO_DIR, flow));
      expect(names, flow).toContain('README.md');
      expect(index, flow).toContain(`(${flow}/README.md)`);
    }
  });
});

/**
 * SIGTERM drains (issue 18 "Restarts and reloads without lost calls", src/app/drain.ts), through the built
 * binary, in one process and with two cluster workers: with 200 established calls held by SIPp, new INVITEs
 * and OPTIONS get 503 with Retry-After at once, the calls go on until `drain_timeout_s`, then both legs of
 * every call get a BYE (SIPp's caller and callee each count 200 complete calls), and the process exits 0.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, ensureBuilt, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';
import {
  runSipp,
  type SippResult,
  type SippServer,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
const CALLS = 200;
const DRAIN_TIMEOUT_S = 3;
const CALLER_IP = '127.0.0.2';

interface Lab {
  readonly dir: string;
  readonly uas: SippServer;
  readonly port: number;
  readonly metricsPort: number;
  readonly bin: BinaryProcess;
}
let lab: Lab | undefined;

async function startLab(workers: number): Promise<Lab> {
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-drain-'));
  const uas = await startSippServer({
    scenario: scenarioPath('basic/uas.xml'),
    transport: 'u1',
    calls: CALLS,
    timeoutS: 60,
  });
  await uas.ready;
  const port = await freePort('both');
  const metricsPort = await freePort('tcp');
  const file = join(dir, 'stirgate.yaml');
  await writeFile(
    file,
    `workers: ${workers}
listen:
  - { transport: udp, address: 127.0.0.1, port: ${port} }
trunks:
  - name: caller
    role: passthrough
    match: { sources: [${CALLER_IP}/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${uas.port}, transport: udp }]
data_dir: ${JSON.stringify(join(dir, 'data'))}
metrics: { listen: "127.0.0.1:${metricsPort}" }
admin: { listen: "" }
traceback: { enabled: false }
drain_timeout_s: ${DRAIN_TIMEOUT_S}
# The drain alone: 200 calls set up in one second on a busy test machine must not meet overload shedding.
overload: { enabled: false }
log: { level: info }
`,
  );
  const bin = spawnBinary(['--config', file], { cwd: dir });
  await bin.waitFor(workers > 1 ? 'stirgate listening (cluster)' : 'stirgate listening', 20_000);
  return { dir, uas, port, metricsPort, bin };
}

async function callsActive(l: Lab): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${l.metricsPort}/metrics`)).text();
  return Number(/^stirgate_calls_active (\S+)$/m.exec(body)?.[1] ?? Number.NaN);
}

/** One request over UDP from the caller's address; resolves with the first final response's text. */
async function finalAnswer(port: number, method: 'INVITE' | 'OPTIONS'): Promise<string> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, CALLER_IP, () => r()));
  const local = sock.address().port;
  const callId = `drain-probe-${method}-${Date.now()}`;
  const msg = [
    `${method} sip:+12025550199@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${CALLER_IP}:${local};branch=z9hG4bK-${callId}`,
    'Max-Forwards: 70',
    `From: <sip:+12025550100@example.com>;tag=probe`,
    '<sip:+12025550199@example.net>'.replace(/^/, 'To: '),
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:probe@${CALLER_IP}:${local}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no final answer to ${method}`)), 2_000);
      sock.on('message', (d) => {
        const text = d.toString('utf8');
        if (/^SIP\/2\.0 1\d\d/.test(text)) return;
        clearTimeout(timer);
        resolve(text);
      });
      sock.send(msg, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

function describeRun(label: string, r: SippResult, bin: BinaryProcess): string {
  return `${label}: exit ${r.exitCode}: ${r.successful} ok, ${r.failed} failed, ${r.created} created\n${r.errorLog ?? ''}\n${bin.output().slice(-3000)}`;
}

afterEach(async () => {
  if (lab === undefined) return;
  lab.bin.child.kill('SIGKILL');
  await lab.uas.stop();
  await rm(lab.dir, { recursive: true, force: true });
  lab = undefined;
});

describe.skipIf(!HAVE_SIPP)('SIGTERM drain through the binary', () => {
  beforeAll(ensureBuilt, 130_000);

  for (const workers of [1, 2]) {
    it(`${workers === 1 ? 'one process' : 'two cluster workers'}: ${CALLS} held calls get a BYE on both legs at drain_timeout_s, new calls 503, exit 0`, async () => {
      lab = await startLab(workers);
      const l = lab;
      const caller = runSipp({
        scenario: scenarioPath('drain/uac.xml'),
        remote: `127.0.0.1:${l.port}`,
        transport: 'u1',
        localIp: CALLER_IP,
        calls: CALLS,
        rate: 200,
        concurrent: CALLS,
        timeoutS: 40,
      });
      // Every call established (answered and ACKed) before the signal.
      const deadline = Date.now() + 15_000;
      while ((await callsActive(l)) < CALLS) {
        if (Date.now() > deadline)
          throw new Error(`calls never reached ${CALLS}:\n${l.bin.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 300)); // the last ACKs

      const signalled = Date.now();
      l.bin.child.kill('SIGTERM');
      await l.bin.waitFor('draining', 2_000);
      // Cluster: the workers start draining on the primary's word; give it a moment.
      if (workers > 1) await l.bin.waitFor(/drain_started[\s\S]*drain_started/, 2_000);
      else await l.bin.waitFor('drain_started', 2_000);

      const options = await finalAnswer(l.port, 'OPTIONS');
      expect(options).toMatch(/^SIP\/2\.0 503 /);
      expect(options).toMatch(/\r\nRetry-After: \d+\r\n/i);
      const invite = await finalAnswer(l.port, 'INVITE');
      expect(invite).toMatch(/^SIP\/2\.0 503 /);
      expect(invite).toMatch(/\r\nRetry-After: \d+\r\n/i);
      // Established calls go on until the deadline.
      expect(await callsActive(l)).toBe(CALLS);

      const code = await Promise.race([
        l.bin.exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), (DRAIN_TIMEOUT_S + 10) * 1000)),
      ]);
      const exitedAfterMs = Date.now() - signalled;
      expect(code, l.bin.output().slice(-3000)).toBe(0);
      expect(exitedAfterMs).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_S * 1000);

      const a = await caller;
      expect(a.successful, describeRun('caller', a, l.bin)).toBe(CALLS);
      expect(a.failed).toBe(0);
      const b = await Promise.race([
        l.uas.result,
        new Promise<SippResult>((r) => setTimeout(() => r(l.uas.stop()), 5_000)),
      ]);
      expect(b.successful, describeRun('callee', b, l.bin)).toBe(CALLS);
      expect(b.failed).toBe(0);
      expect(l.bin.output()).toMatch(/"event":"drain_done"[^\n]*"end":"deadline"[^\n]*"left":0/);
      console.log(
        `drain (${workers} worker(s)): ${CALLS} calls, exit 0 after ${exitedAfterMs} ms (drain_timeout_s ${DRAIN_TIMEOUT_S})`,
      );
    }, 60_000);
  }

  it('a second SIGTERM ends at once: both legs still get their BYE, exit 0', async () => {
    lab = await startLab(1);
    const l = lab;
    const held = 20;
    const caller = runSipp({
      scenario: scenarioPath('drain/uac.xml'),
      remote: `127.0.0.1:${l.port}`,
      transport: 'u1',
      localIp: CALLER_IP,
      calls: held,
      rate: 100,
      concurrent: held,
      timeoutS: 40,
    });
    const deadline = Date.now() + 10_000;
    while ((await callsActive(l)) < held) {
      if (Date.now() > deadline) throw new Error(`calls never reached ${held}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    // Far from the 3 s deadline: the second signal, not the deadline, ends the drain.
    l.bin.child.kill('SIGTERM');
    await l.bin.waitFor('drain_started', 2_000);
    const signalled = Date.now();
    l.bin.child.kill('SIGTERM');
    expect(await l.bin.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(1_500);
    expect(l.bin.output()).toMatch(/"event":"drain_done"[^\n]*"end":"now"/);
    const a = await caller;
    expect(a.successful, describeRun('caller', a, l.bin)).toBe(held);
    const b = await Promise.race([
      l.uas.result,
      new Promise<SippResult>((r) => setTimeout(() => r(l.uas.stop()), 3_000)),
    ]);
    expect(b.successful, describeRun('callee', b, l.bin)).toBe(held);
  }, 40_000);
});

// Issue 17: "with workers > 1 the limits hold for the element as a whole, not per worker". The built binary
// with `workers: 2` (each worker leases batches of its customers' slots and tokens from the primary,
// src/cluster/ipc-admission-counters.ts); SIPp offers 3x a customer's calls-per-second limit for 10 s (each
// worker takes the calls whose Call-ID it owns); the element as a whole lets through the limit +- 10 %.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, childPids, ensureBuilt, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippServer, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/customer-limits-cluster.test.ts: no sipp binary on PATH\n');

const CPS = 20;
const BURST = 10;
const OFFERED_CPS = 3 * CPS;
const OFFERED_S = 10;

describe.skipIf(!HAVE_SIPP)('customer limits in a cluster (SIPp -> Stirgate workers: 2 -> SIPp)', () => {
  let dir: string;
  let bin: BinaryProcess;
  let uas: SippServer;
  let sipPort: number;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'stirgate-limits-cluster-'));
    uas = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: 10_000,
      timeoutS: 120,
    });
    await uas.ready;
    sipPort = await freePort('udp');
    const configFile = join(dir, 'stirgate.yaml');
    await writeFile(
      configFile,
      `
workers: 2
listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
trunks:
  - { name: acme-sbc, role: originating, match: { sources: [127.0.0.2/32] }, route: callee }
routes:
  - { name: callee, next_hops: [{ address: 127.0.0.1, port: ${uas.port}, transport: udp }] }
customers:
  - name: acme
    trunks: [acme-sbc]
    numbers: ["1202555*"]
    limits: { cps: ${CPS}, burst: ${BURST}, max_concurrent: 1000 }
stir: { dev_pki: { x5u_listen: "127.0.0.1:0" } }
data_dir: ${join(dir, 'data')}
metrics: { listen: "" }
admin: { listen: "" }
traceback: { enabled: false }
log: { level: info }
`,
    );
    bin = spawnBinary(['--config', configFile], { cwd: dir });
    await bin.waitFor('stirgate listening (cluster)', 30_000);
  }, 60_000);

  afterAll(async () => {
    if (bin !== undefined) {
      for (const pid of childPids(bin.child.pid!)) process.kill(pid, 'SIGKILL');
      bin.child.kill('SIGKILL');
      await bin.exited;
    }
    await uas?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(`offered ${OFFERED_CPS} calls/s for ${OFFERED_S} s over both workers: ${CPS} calls/s ± 10 % for the element`, async () => {
    const calls = OFFERED_CPS * OFFERED_S;
    const r = await runSipp({
      scenario: scenarioPath('limits/uac.xml'),
      remote: `127.0.0.1:${sipPort}`,
      // Each INVITE is handled by the worker owning its Call-ID (src/cluster/call-id-owner.ts): both take calls.
      transport: 'u1',
      calls,
      rate: OFFERED_CPS,
      concurrent: 200,
      service: '+13035550100',
      timeoutS: 20,
    });
    const describeRun = `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 1500)}`;
    expect(r.timedOut, describeRun).toBe(false);
    expect(r.successful + r.failed, describeRun).toBe(calls);
    const acceptedCps = (r.successful - BURST) / OFFERED_S;
    console.log(
      `cluster limits: ${calls} calls offered at ${OFFERED_CPS}/s to 2 workers, ${r.successful} answered, ${r.failed} refused (503): ${acceptedCps.toFixed(2)} calls/s over the burst (limit ${CPS})`,
    );
    expect(acceptedCps, describeRun).toBeGreaterThanOrEqual(CPS * 0.9);
    expect(acceptedCps, describeRun).toBeLessThanOrEqual(CPS * 1.1);
  }, 60_000);
});

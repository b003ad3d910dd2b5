// Issue 18, "Restarts and reloads without lost calls": the rule is that a reload (SIGHUP or the admin API)
// swaps the configuration of new calls in one step, between two messages, and never touches the sockets,
// the transactions or the calls in progress (src/app/reload.ts, B2bua.reconfigure). The harness: SIPp calls
// at a steady rate through the real binary while the file is rewritten and SIGHUP sent every 250 ms, each
// reload moving new calls to the other of two callees. Every call must complete, every BYE reach the callee
// its INVITE reached, no request be retransmitted (a lost message is a retransmission 500 ms later on this
// loopback), and no call be left. Once in one process and once with two workers (the primary relays the
// reload: src/cluster/reload-relay.ts).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, callsActive, ensureBuilt, killBinary, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/reload-under-load.test.ts: no sipp binary on PATH\n');

const RATE = 100;
const CALLS = 500;
const RELOAD_EVERY_MS = 250;

let dir: string | undefined;
let bin: BinaryProcess | undefined;
afterEach(async () => {
  await killBinary(bin);
  bin = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function configYaml(o: {
  port: number;
  workers: number;
  metrics: number;
  route: 'a' | 'b';
  callees: Record<'a' | 'b', number>;
  data: string;
}): string {
  return `
workers: ${o.workers}
listen: [{ transport: udp, address: 127.0.0.1, port: ${o.port} }]
trunks:
  - { name: caller, match: { sources: [127.0.0.2/32] }, role: passthrough, route: ${o.route} }
routes:
  - { name: a, next_hops: [{ address: 127.0.0.1, port: ${o.callees.a} }] }
  - { name: b, next_hops: [{ address: 127.0.0.1, port: ${o.callees.b} }] }
data_dir: ${o.data}
metrics: { listen: "127.0.0.1:${o.metrics}" }
admin: { listen: "" }
traceback: { enabled: false }
log: { level: info }
`;
}

const retransmissions = (r: SippResult) => Number(r.stats['Retransmissions(C)'] ?? Number.NaN);
const describeRun = (r: SippResult) =>
  `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed, ${retransmissions(r)} retransmissions\n${(r.errorLog ?? '').slice(0, 2000)}`;

async function reloadUnderLoad(workers: number): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), `stirgate-reload-load-${workers}-`));
  const [calleeA, calleeB] = await Promise.all(
    ['a', 'b'].map(() =>
      startSippServer({
        scenario: scenarioPath('basic/uas.xml'),
        transport: 'u1',
        calls: CALLS,
        timeoutS: 60,
      }),
    ),
  );
  await Promise.all([calleeA!.ready, calleeB!.ready]);
  const port = await freePort('both');
  const metrics = await freePort('tcp');
  const file = join(dir, 'stirgate.yaml');
  const base = {
    port,
    workers,
    metrics,
    data: join(dir, 'data'),
    callees: { a: calleeA!.port, b: calleeB!.port },
  };
  await writeFile(file, configYaml({ ...base, route: 'a' }));
  bin = spawnBinary(['--config', file], { cwd: dir });
  await bin.waitFor(workers > 1 ? 'stirgate listening (cluster)' : 'stirgate listening', 20_000);

  const caller = runSipp({
    scenario: scenarioPath('basic/uac.xml'),
    remote: `127.0.0.1:${port}`,
    transport: 'u1',
    calls: CALLS,
    rate: RATE,
    timeoutS: 40,
  });
  let done = false;
  void caller.finally(() => {
    done = true;
  });
  // Reloads while the calls run: each moves new calls to the other callee.
  let reloads = 0;
  let route: 'a' | 'b' = 'a';
  const mark = bin.output().length;
  while (!done) {
    await new Promise((r) => setTimeout(r, RELOAD_EVERY_MS));
    if (done) break;
    route = route === 'a' ? 'b' : 'a';
    await writeFile(file, configYaml({ ...base, route }));
    bin.child.kill('SIGHUP');
    reloads++;
  }
  const run = await caller;
  expect(run.successful, describeRun(run)).toBe(CALLS);
  expect(run.failed, describeRun(run)).toBe(0);
  expect(retransmissions(run), describeRun(run)).toBe(0);
  // Every reload was applied (reloads are taken one at a time; a SIGHUP during one waits for it).
  expect(reloads).toBeGreaterThanOrEqual(10);
  const applied = () => bin!.output().slice(mark).split('"msg":"configuration reloaded"').length - 1;
  const deadline = Date.now() + 5_000;
  while (applied() < reloads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(applied()).toBe(reloads);
  // Both callees took calls; between them they answered each call once, BYE included.
  const [a, b] = await Promise.all([calleeA!.stop(), calleeB!.stop()]);
  expect(a.successful).toBeGreaterThan(0);
  expect(b.successful).toBeGreaterThan(0);
  expect(a.successful + b.successful).toBe(CALLS);
  expect(a.failed + b.failed).toBe(0);
  expect(await callsActive(metrics)).toBe(0);
  console.log(
    `reload under load, workers ${workers}: ${reloads} reloads applied during ${CALLS} calls at ${RATE}/s; ` +
      `callee a ${a.successful}, callee b ${b.successful}; ${retransmissions(run)} retransmissions, ${run.failed} failed`,
  );
  expect(bin.output()).not.toContain('"level":"error"');
  bin.child.kill('SIGTERM');
  expect(await bin.exited).toBe(0);
}

describe.skipIf(!HAVE_SIPP)(
  `reload under load: ${CALLS} SIPp calls at ${RATE}/s, SIGHUP every ${RELOAD_EVERY_MS} ms`,
  () => {
    beforeAll(() => ensureBuilt(), 180_000);

    it('one process: every call completes at the callee its INVITE reached, nothing retransmitted, nothing left', async () => {
      await reloadUnderLoad(1);
    }, 60_000);

    it('cluster (workers: 2): the same through the primary and both workers', async () => {
      await reloadUnderLoad(2);
    }, 60_000);
  },
);

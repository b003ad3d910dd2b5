// Traceback records through the real binary (dist/src/main.js):
// - cluster mode (`workers: 2`): the records of calls handled by both workers are in the one SQLite file the
//   primary writes (each worker process names its records `<run>-...` with its own run id);
// - crash safety: `kill -9` under SIPp load, then a restart on the same data_dir. The database opens clean
//   (the element starts, `PRAGMA integrity_check` is ok), every record the store had committed before the
//   kill (`stirgate_traceback_stored_total`, scraped just before it) is there, and the calls SIPp completed
//   without a record are at most what the writer held in memory: one flush interval plus the batch in flight.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, ensureBuilt, killBinary, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/traceback-binary.test.ts: no sipp binary on PATH\n');

const FLUSH_MS = 200;

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
  callee: number;
  metrics: number;
  workers: number;
  data: string;
}): string {
  return `
workers: ${o.workers}
listen:
  - { transport: udp, address: 127.0.0.1, port: ${o.port} }
trunks:
  - name: caller
    role: originating
    match: { sources: [127.0.0.2/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${o.callee}, transport: udp }]
customers:
  - name: demo
    trunks: [caller]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: ${o.data}
metrics: { listen: "127.0.0.1:${o.metrics}" }
admin: { listen: "" }
traceback: { flush_ms: ${FLUSH_MS} }
log: { level: info }
`;
}

/** The records in the file, read as the CLI would: another process, read-only. */
function readDb(file: string): { ids: string[]; ended: number; integrity: string } {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const integrity = (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string })
      .integrity_check;
    const ids = (db.prepare("SELECT id FROM records WHERE role = 'signed'").all() as { id: string }[]).map(
      (r) => r.id,
    );
    const ended = (
      db.prepare('SELECT count(*) AS n FROM records WHERE end_time IS NOT NULL').get() as { n: number }
    ).n;
    return { ids, ended, integrity };
  } finally {
    db.close();
  }
}

function describeRun(r: SippResult): string {
  return `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 2000)}`;
}

async function metric(port: number, name: string): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe.skipIf(!HAVE_SIPP)('traceback through the binary', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('cluster mode: records of calls handled by both workers reach the one store', async () => {
    const CALLS = 60;
    dir = await mkdtemp(join(tmpdir(), 'stirgate-tb-cluster-'));
    const callee = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 40,
    });
    await callee.ready;
    const port = await freePort('both');
    const file = join(dir, 'stirgate.yaml');
    const data = join(dir, 'data');
    await writeFile(
      file,
      configYaml({ port, callee: callee.port, metrics: await freePort('tcp'), workers: 2, data }),
    );
    bin = spawnBinary(['--config', file], { cwd: dir });
    await bin.waitFor('stirgate listening (cluster)', 20_000);
    const caller = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${port}`,
      transport: 'u1',
      calls: CALLS,
      rate: 30,
      timeoutS: 30,
    });
    expect(caller.successful, describeRun(caller)).toBe(CALLS);
    await callee.result;
    // A clean stop: the workers flush to the primary, the primary to the store.
    bin.child.kill('SIGTERM');
    expect(await bin.exited).toBe(0);

    const { ids, ended, integrity } = readDb(join(data, 'traceback.db'));
    expect(integrity).toBe('ok');
    expect(ids).toHaveLength(CALLS);
    expect(ended).toBe(CALLS);
    // Keys are `<run>-<n>`, one run id per worker process: both workers' calls are on record.
    const runs = new Set(ids.map((id) => id.slice(0, id.indexOf('-'))));
    expect(runs.size).toBe(2);
  }, 90_000);

  it('kill -9 under load: restarts clean, keeps every committed record, loses at most the unflushed ones', async () => {
    const RATE = 200;
    const CALLS = 800;
    dir = await mkdtemp(join(tmpdir(), 'stirgate-tb-crash-'));
    const callee = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 40,
    });
    await callee.ready;
    const port = await freePort('both');
    const metricsPort = await freePort('tcp');
    const file = join(dir, 'stirgate.yaml');
    const data = join(dir, 'data');
    await writeFile(file, configYaml({ port, callee: callee.port, metrics: metricsPort, workers: 1, data }));
    bin = spawnBinary(['--config', file], { cwd: dir });
    await bin.waitFor('stirgate listening', 20_000);
    const load = runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${port}`,
      transport: 'u1',
      calls: CALLS,
      rate: RATE,
      timeoutS: 12,
    });
    await new Promise((r) => setTimeout(r, 2500));
    const stored = await metric(metricsPort, 'stirgate_traceback_stored_total');
    bin.child.kill('SIGKILL');
    await bin.exited;
    const caller = await load;
    await callee.stop();
    expect(stored).toBeGreaterThan(0);

    // Restart on the same data_dir: it must open the database (migrations, WAL recovery) and serve.
    bin = spawnBinary(['--config', file], { cwd: dir });
    await bin.waitFor('stirgate listening', 20_000);
    // The line is written just before main installs its signal handlers.
    await new Promise((r) => setTimeout(r, 300));
    bin.child.kill('SIGTERM');
    expect(await bin.exited).toBe(0);

    const { ids, ended, integrity } = readDb(join(data, 'traceback.db'));
    expect(integrity).toBe('ok');
    // Each committed event is a record (call) or a completed record (end).
    expect(ids.length + ended).toBeGreaterThanOrEqual(stored);
    // Calls SIPp completed before the kill that have no record: at most what the writer held in memory,
    // i.e. the calls of one flush interval plus one batch in flight (2 * FLUSH_MS of calls at RATE).
    const bound = Math.ceil((2 * FLUSH_MS * RATE) / 1000);
    const noRecord = Math.max(0, caller.successful - ids.length);
    const noEnd = Math.max(0, caller.successful - ended);
    console.log(
      `traceback crash test: SIPp completed ${caller.successful} calls (created ${caller.created}); ` +
        `records ${ids.length} (${ended} ended); committed before the kill ${stored} events; ` +
        `completed calls without a record ${noRecord}, without their end ${noEnd} (bound ${bound})`,
    );
    expect(caller.successful).toBeGreaterThan(100);
    expect(noRecord).toBeLessThanOrEqual(bound);
    expect(noEnd).toBeLessThanOrEqual(bound);
  }, 90_000);
});

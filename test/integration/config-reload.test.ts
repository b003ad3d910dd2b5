// Reloading the configuration of the real binary (dist/src/main.js) with SIGHUP, SIPp on both sides:
// - one process: a file that does not validate is refused (every problem logged at error, the element keeps
//   running); a reload that removes the trunk and route of an established call leaves that call alone (its
//   BYE still reaches its callee), and the next call takes the new route;
// - cluster (`workers: 2`): the primary validates the file and has both workers apply it; calls handled by
//   either worker then take the new route.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BinaryProcess,
  callsActive,
  childPids,
  ensureBuilt,
  killBinary,
  spawnBinary,
} from '../support/binary.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/config-reload.test.ts: no sipp binary on PATH\n');

let dir: string | undefined;
let bin: BinaryProcess | undefined;
afterEach(async () => {
  await killBinary(bin);
  bin = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Callers at 127.0.0.2 (SIPp's default address) on trunk `trunk`, routed to one of two callees. */
function configYaml(o: {
  port: number;
  workers: number;
  metrics: number;
  trunk: string;
  /** A route name; one not in `routes` makes the file invalid. */
  route: string;
  routes: Record<string, number>;
  data: string;
}): string {
  const routes = Object.entries(o.routes)
    .map(([name, port]) => `  - { name: ${name}, next_hops: [{ address: 127.0.0.1, port: ${port} }] }`)
    .join('\n');
  return `
workers: ${o.workers}
listen: [{ transport: udp, address: 127.0.0.1, port: ${o.port} }]
trunks:
  - { name: ${o.trunk}, match: { sources: [127.0.0.2/32] }, role: passthrough, route: ${o.route} }
routes:
${routes}
data_dir: ${o.data}
metrics: { listen: "127.0.0.1:${o.metrics}" }
admin: { listen: "" }
traceback: { enabled: false }
log: { level: info }
`;
}

function describeRun(r: SippResult): string {
  return `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 2000)}`;
}

async function until(what: string, ready: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The log lines (pino JSON) written since `from` characters of output. */
function logLines(b: BinaryProcess, from: number): { level: string; msg: string; [k: string]: unknown }[] {
  return b
    .output()
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string });
}

describe.skipIf(!HAVE_SIPP)('configuration reload with SIGHUP (binary, SIPp)', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('one process: a bad file is refused and logged; an established call keeps its removed route; new calls take the new one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-reload-'));
    // basic/uac.xml holding the call for 3 s between its ACK and its BYE: time for the reload in between.
    const longCall = join(dir, 'uac-long.xml');
    const basic = await readFile(scenarioPath('basic/uac.xml'), 'utf8');
    expect(basic).toContain('<pause milliseconds="200"/>');
    await writeFile(longCall, basic.replace('<pause milliseconds="200"/>', '<pause milliseconds="3000"/>'));
    const [calleeA, calleeB] = await Promise.all(
      ['a', 'b'].map(() =>
        startSippServer({ scenario: scenarioPath('basic/uas.xml'), transport: 'u1', calls: 1, timeoutS: 30 }),
      ),
    );
    await Promise.all([calleeA!.ready, calleeB!.ready]);
    const port = await freePort('both');
    const metrics = await freePort('tcp');
    const file = join(dir, 'stirgate.yaml');
    const data = join(dir, 'data');
    const base = { port, workers: 1, metrics, data };
    const routes = { a: calleeA!.port, b: calleeB!.port };
    await writeFile(file, configYaml({ ...base, trunk: 'caller', route: 'a', routes }));
    bin = spawnBinary(['--config', file], { cwd: dir });
    await bin.waitFor('stirgate listening', 20_000);

    const first = runSipp({
      scenario: longCall,
      remote: `127.0.0.1:${port}`,
      transport: 'u1',
      calls: 1,
      timeoutS: 20,
    });
    await until('the first call to be up', async () => (await callsActive(metrics)) === 1);

    // A file that does not validate: refused, every problem at error level, the element keeps running.
    let mark = bin.output().length;
    await writeFile(
      file,
      configYaml({ ...base, trunk: 'caller', route: 'nowhere', routes }).replace('workers:', 'wrokers:'),
    );
    bin.child.kill('SIGHUP');
    await bin.waitFor('configuration reload refused', 5_000);
    const refused = logLines(bin, mark).filter((l) => l.level === 'error');
    expect(refused.map((l) => l.path)).toEqual(expect.arrayContaining(['wrokers', 'trunks[0].route']));
    expect(refused.at(-1)?.msg).toBe('configuration reload refused; the running configuration stays');

    // The trunk and route of the established call removed; its callers now on trunk `renamed` to callee B.
    mark = bin.output().length;
    await writeFile(
      file,
      configYaml({ ...base, trunk: 'renamed', route: 'b', routes: { b: calleeB!.port } }),
    );
    bin.child.kill('SIGHUP');
    await bin.waitFor('"msg":"configuration reloaded"', 5_000);
    const applied = logLines(bin, mark).find((l) => l.event === 'config_reloaded');
    expect(applied?.changed).toEqual(['trunks', 'routes']);
    expect(await callsActive(metrics)).toBe(1);

    // The established call ends normally: its BYE crosses to callee A, the only call either side saw.
    const firstRun = await first;
    expect(firstRun.successful, describeRun(firstRun)).toBe(1);
    const aRun = await calleeA!.result;
    expect(aRun.successful, describeRun(aRun)).toBe(1);

    const second = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${port}`,
      transport: 'u1',
      calls: 1,
      timeoutS: 20,
    });
    expect(second.successful, describeRun(second)).toBe(1);
    const bRun = await calleeB!.result;
    expect(bRun.successful, describeRun(bRun)).toBe(1);
    expect(bin.child.exitCode).toBeNull();

    bin.child.kill('SIGTERM');
    expect(await bin.exited).toBe(0);
  }, 60_000);

  it('cluster (workers: 2): the primary validates the file once, both workers apply it', async () => {
    const CALLS = 20;
    dir = await mkdtemp(join(tmpdir(), 'stirgate-reload-cluster-'));
    const [calleeA, calleeB] = await Promise.all(
      [CALLS, CALLS].map((calls) =>
        startSippServer({ scenario: scenarioPath('basic/uas.xml'), transport: 'u1', calls, timeoutS: 40 }),
      ),
    );
    await Promise.all([calleeA!.ready, calleeB!.ready]);
    const port = await freePort('both');
    const file = join(dir, 'stirgate.yaml');
    const base = { port, workers: 2, metrics: await freePort('tcp'), data: join(dir, 'data') };
    const routes = { a: calleeA!.port, b: calleeB!.port };
    await writeFile(file, configYaml({ ...base, trunk: 'caller', route: 'a', routes }));
    bin = spawnBinary(['--config', file], { cwd: dir });
    await bin.waitFor('stirgate listening (cluster)', 20_000);
    const calls = () =>
      runSipp({
        scenario: scenarioPath('basic/uac.xml'),
        remote: `127.0.0.1:${port}`,
        transport: 'u1',
        calls: CALLS,
        rate: 20,
        timeoutS: 20,
      });
    const before = await calls();
    expect(before.successful, describeRun(before)).toBe(CALLS);

    const mark = bin.output().length;
    await writeFile(file, configYaml({ ...base, trunk: 'caller', route: 'b', routes }));
    bin.child.kill('SIGHUP');
    await bin.waitFor('"msg":"configuration reloaded"', 15_000);
    const lines = logLines(bin, mark);
    expect(lines.filter((l) => l.event === 'config_reloaded')).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);

    const after = await calls();
    expect(after.successful, describeRun(after)).toBe(CALLS);
    const [aRun, bRun] = await Promise.all([calleeA!.result, calleeB!.result]);
    // Every call before the reload went to A, every one after to B, whichever worker handled it.
    expect(aRun.successful, describeRun(aRun)).toBe(CALLS);
    expect(bRun.successful, describeRun(bRun)).toBe(CALLS);
    expect(childPids(bin.child.pid!)).toHaveLength(2);

    bin.child.kill('SIGTERM');
    expect(await bin.exited).toBe(0);
  }, 90_000);
});

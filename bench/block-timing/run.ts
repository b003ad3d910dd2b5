/**
 * How long a block and its undo take to act under load (issue 17; docs/performance-history.md
 * "Operator controls: blocks under load"): `npm run bench:block [-- --rate N --workers N --cycles N]`.
 *
 * SIPp places calls from one caller number at a steady rate through Stirgate (the built binary, `workers`
 * SIP processes, an originating trunk, traceback on) to a SIPp callee. While they run, the bench adds a
 * reject block on the caller's number through the admin API, waits, removes it, and repeats. Afterwards it
 * reads the traceback records of the run (every call is one, with the element's receive time and, when
 * refused, the block that refused it) and reports, per block and per undo, the time from the API's answer to
 * the first INVITE it acted on, and how many INVITEs received after the answer still got the old treatment.
 * The baseline is the gap between two calls at the offered rate: a lag below it is "the next INVITE".
 * Every call must end (SIPp: created = successful + failed, none left over): no call is dropped.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { freePort, sleep, spawnManaged, stopManaged, waitUdpBound } from '../load/processes.js';
import { startUac, startUas } from '../load/sipp-load.js';

const CALLER = '12025550100';
const CALLEE = '+12025550199';

interface Options {
  readonly rate: number;
  readonly workers: number;
  readonly cycles: number;
  /** Seconds a block stays, and between an undo and the next block. */
  readonly holdS: number;
  readonly keep: boolean;
}

function options(argv: readonly string[]): Options {
  const o = { rate: 200, workers: 2, cycles: 5, holdS: 3, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    if (a === '--rate') o.rate = v;
    else if (a === '--workers') o.workers = v;
    else if (a === '--cycles') o.cycles = v;
    else if (a === '--hold') o.holdS = v;
    else if (a === '--keep') {
      o.keep = true;
      continue;
    } else throw new Error(`unknown argument ${a} (--rate N --workers N --cycles N --hold S --keep)`);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
    i++;
  }
  return o;
}

interface ApiRecord {
  readonly time: string;
  readonly refused: {
    readonly status: number;
    readonly cause: string;
    readonly detail: string | null;
  } | null;
}

/** One API action and when its answer arrived (epoch ms, this machine's clock, as the element's records). */
interface Action {
  readonly kind: 'block' | 'undo';
  readonly sentAt: number;
  readonly answeredAt: number;
}

async function api(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function config(o: Options, dir: string, sipPort: number, uasPort: number, adminPort: number): string {
  return `listen:
  - { transport: udp, address: 127.0.0.1, port: ${sipPort} }
workers: ${o.workers}
trunks:
  - name: caller
    match: { sources: [127.0.0.2/32] }
    role: originating
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${uasPort}, transport: udp }]
customers:
  - name: bench
    trunks: [caller]
    numbers: ["1202555*"]
    # Far above the offered rate: only the block refuses calls here.
    limits: { cps: ${o.rate * 10}, burst: ${o.rate * 10}, max_concurrent: ${o.rate * 20} }
data_dir: ${join(dir, 'data')}
metrics: { listen: "" }
admin: { listen: "127.0.0.1:${adminPort}" }
traceback: { enabled: true, flush_ms: 50 }
log: { level: warn }
`;
}

/** Records of the caller's calls in [from, to], oldest first (windows of 1 s: the API caps a page at 1,000). */
async function recordsOf(base: string, token: string, from: number, to: number): Promise<ApiRecord[]> {
  const out: ApiRecord[] = [];
  for (let t = from; t <= to; t += 1000) {
    const q = new URLSearchParams({
      orig: CALLER,
      from: new Date(t).toISOString(),
      to: new Date(Math.min(to, t + 999)).toISOString(),
      limit: '1000',
    });
    const page = (await api(base, token, 'GET', `/v1/traceback?${q}`)) as {
      records: ApiRecord[];
      truncated: boolean;
    };
    if (page.truncated) throw new Error('more than 1,000 calls in one second: lower --rate');
    out.push(...page.records);
  }
  return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

interface Lag {
  readonly kind: 'block' | 'undo';
  /** API answer -> first INVITE with the new treatment, ms (negative: the change acted before the answer). */
  readonly lagMs: number;
  /** INVITEs received after the answer that still got the old treatment. */
  readonly stale: number;
}

function lagOf(a: Action, records: readonly ApiRecord[]): Lag | undefined {
  const refusedByBlock = (r: ApiRecord) => r.refused?.cause === 'block';
  const wanted = a.kind === 'block' ? refusedByBlock : (r: ApiRecord) => !refusedByBlock(r);
  // From the request on: the first record with the new treatment, and stale ones after the answer before it.
  let stale = 0;
  for (const r of records) {
    const t = Date.parse(r.time);
    if (t < a.sentAt) continue;
    if (wanted(r)) return { kind: a.kind, lagMs: t - a.answeredAt, stale };
    if (t >= a.answeredAt) stale++;
  }
  return undefined;
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-block-timing-'));
  await mkdir(join(dir, 'data'), { recursive: true });
  const [sipPort, uasPort, adminPort, uacPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort('127.0.0.2'),
  ];
  const cfg = join(dir, 'stirgate.yaml');
  await writeFile(cfg, config(o, dir, sipPort, uasPort, adminPort));
  const scenarios = join(process.cwd(), 'bench');
  const uas = startUas({
    port: uasPort,
    scenario: join(scenarios, 'load', 'scenarios', 'uas.xml'),
    dir,
    timeoutS: 600,
  });
  const element = spawnManaged(
    'stirgate',
    process.execPath,
    [...NODE_FLAGS, join(process.cwd(), 'dist', 'src', 'main.js'), '--config', cfg],
    { cwd: dir, logFile: join(dir, 'stirgate.log') },
  );
  const base = `http://127.0.0.1:${adminPort}`;
  try {
    await waitUdpBound(sipPort, element, 'stirgate');
    const token = (await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim().split(':').pop()!;
    const seconds = 2 + o.cycles * 2 * o.holdS + 2;
    const calls = Math.ceil((o.rate * seconds) / 50) * 50;
    console.log(
      `bench:block: ${o.rate} calls/s for ${seconds} s (${calls} calls), workers ${o.workers}, ${o.cycles} block/undo cycles of ${o.holdS} s`,
    );
    const uac = startUac({
      remote: `127.0.0.1:${sipPort}`,
      scenario: join(scenarios, 'block-timing', 'uac.xml'),
      rate: o.rate,
      calls,
      pauseMs: 200,
      limit: o.rate * 5,
      timeoutS: seconds + 30,
      dir,
      localPort: uacPort,
      service: CALLEE,
    });
    const t0 = Date.now();
    const actions: Action[] = [];
    await sleep(2000);
    for (let c = 0; c < o.cycles; c++) {
      let sentAt = Date.now();
      const block = (await api(base, token, 'POST', '/v1/blocks', {
        match: { calling: `+${CALLER}` },
        action: 'reject',
        reason: 'bench: block timing',
        ticket: `BENCH-${c + 1}`,
      })) as { id: string };
      actions.push({ kind: 'block', sentAt, answeredAt: Date.now() });
      await sleep(o.holdS * 1000);
      sentAt = Date.now();
      await api(base, token, 'DELETE', `/v1/blocks/${block.id}`, { reason: 'bench: undo' });
      actions.push({ kind: 'undo', sentAt, answeredAt: Date.now() });
      await sleep(o.holdS * 1000);
    }
    const r = await uac.result;
    await sleep(500); // the writer's last batch (flush_ms 50)
    const records = await recordsOf(base, token, t0 - 1000, Date.now());
    const refused = records.filter((x) => x.refused?.cause === 'block').length;
    console.log(
      `calls: created ${r.created}, ended ${r.successful + r.failed} (SIPp failed ${r.failed}), left over ${r.incomplete}; records ${records.length}, refused by a block ${refused}`,
    );
    const gapMs = 1000 / o.rate;
    console.log(`baseline: one call every ${gapMs.toFixed(1)} ms at ${o.rate} calls/s`);
    console.log(
      'action  API answered in  API answer -> first INVITE acted on  stale INVITEs after the answer',
    );
    const lags: Lag[] = [];
    for (const a of actions) {
      const lag = lagOf(a, records);
      if (lag === undefined) {
        console.log(`${a.kind.padEnd(6)}  ${String(a.answeredAt - a.sentAt).padStart(6)} ms  never`);
        continue;
      }
      lags.push(lag);
      console.log(
        `${a.kind.padEnd(6)}  ${String(a.answeredAt - a.sentAt).padStart(6)} ms  ${lag.lagMs.toFixed(0).padStart(8)} ms (${(lag.lagMs / gapMs).toFixed(2)} call gaps)  ${lag.stale}`,
      );
    }
    for (const kind of ['block', 'undo'] as const) {
      const l = lags.filter((x) => x.kind === kind).map((x) => x.lagMs);
      if (l.length === 0) continue;
      console.log(
        `${kind}: worst lag ${Math.max(...l)} ms, worst stale ${Math.max(...lags.filter((x) => x.kind === kind).map((x) => x.stale))} (of ${l.length})`,
      );
    }
    const ok = r.incomplete === 0 && lags.length === actions.length && lags.every((x) => x.lagMs < 1000);
    console.log(ok ? 'result: every change acted within 1 s; no call left over' : 'result: FAILED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stopManaged(element, 'SIGTERM', 10_000);
    await uas.stop();
    if (!o.keep && process.exitCode !== 1) await rm(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

await main();

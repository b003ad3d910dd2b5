/**
 * Overload bench: Stirgate and Kamailio + secsipid (signing) offered twice their maximum for 60 s, one after
 * the other in one run on 127.0.0.1 (bench/overload/README.md). From the repository root:
 *
 *   npm run bench:overload               = npm run build && node dist/bench/overload/run.js
 *   node dist/bench/overload/run.js --seconds=10 --factor=1.5    shorter, for development
 *
 * Per element: its sign maximum measured by the load bench's ramp (or given: `--stirgate-max`,
 * `--kamailio-max`), then a fresh process warmed up (the load bench's element start-up and warm-up step) and a
 * SIPp caller at `factor` x that maximum for `seconds`; the element's memory, liveness and kernel
 * drops sampled every second. From the moment the caller stops creating calls, 1-second runs of 50 calls at
 * 50 calls/s follow each other until one completes 100 %: the recovery time is when that run started. Then
 * the overload caller's own verdict: calls completed (goodput), shed with 503 + Retry-After, other failures
 * and calls left unfinished. Reuses bench/load's process, element and SIPp helpers.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateDevPki } from '../../src/stir/pki/dev-pki.js';
import type { Element, ElementKind } from '../load/elements.js';
import {
  CLOCK_TICKS,
  cpuTicksOf,
  freePort,
  keepIfInterrupted,
  killAll,
  removeIfInterrupted,
  sleep,
  udpDrops,
} from '../load/processes.js';
import { ramp } from '../load/ramp.js';
import { CALLEE, type Context, log, settings } from '../load/settings.js';
import { startUac, startUas, type UacResult } from '../load/sipp-load.js';
import { freshElement, probe } from '../load/step.js';

interface Options {
  readonly elements: readonly ElementKind[];
  /** Given maxima (`--stirgate-max`, `--kamailio-max`); an element without one has its maximum measured first. */
  readonly max: Readonly<Partial<Record<ElementKind, number>>>;
  readonly factor: number;
  readonly seconds: number;
  readonly stirgateWorkers: number;
  readonly keep: boolean;
}

/**
 * Measuring the maximum in the same run: the load bench's ramp (bench/load/ramp.ts) with its --quick steps
 * (5 s per rate, 1,000 to 6,000 calls/s, two bisection steps: a resolution of 250 calls/s), signing.
 */
const RAMP_RATES = [1000, 2000, 3000, 4000, 6000];
const RAMP_BUDGET_S = 240;
const RECOVERY_RATE = 50;
/** The issue's bound: a clean 50 calls/s run within 5 s of the load dropping. */
const RECOVERY_TARGET_S = 5;
const RECOVERY_GIVE_UP_S = 60;
const PAUSE_MS = 500;
/**
 * The load bench's behaviours without `bye`: a shed call is failed on purpose after its ACK (the scenario's
 * refused branch), and SIPp would otherwise send a BYE for it, a message the element must then answer (481).
 */
const BEHAVIOURS = 'all,-abortunexp,-bye';

function options(argv: readonly string[]): Options {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const unknown = argv.filter(
    (a) =>
      !/^--(keep|elements=[a-z,]+|stirgate-max=\d+|kamailio-max=\d+|factor=[\d.]+|seconds=\d+|stirgate-workers=\d+)$/.test(
        a,
      ),
  );
  if (unknown.length > 0)
    throw new Error(`unknown argument(s): ${unknown.join(' ')} (bench/overload/README.md)`);
  const elements = (value('elements')?.split(',') ?? ['stirgate', 'kamailio']) as ElementKind[];
  for (const e of elements) if (e !== 'stirgate' && e !== 'kamailio') throw new Error(`--elements: ${e}`);
  return {
    elements,
    max: {
      ...(value('stirgate-max') !== undefined ? { stirgate: Number(value('stirgate-max')) } : {}),
      ...(value('kamailio-max') !== undefined ? { kamailio: Number(value('kamailio-max')) } : {}),
    },
    factor: Number(value('factor') ?? 2),
    seconds: Number(value('seconds') ?? 60),
    stirgateWorkers: Number(value('stirgate-workers') ?? 2),
    keep: argv.includes('--keep'),
  };
}

interface Recovery {
  /** Seconds from the end of the overload's call creation to the start of the first 100 % run. */
  readonly afterS: number | undefined;
  /** Each 1 s run: successful / placed. */
  readonly runs: readonly string[];
}

interface ElementResult {
  readonly kind: ElementKind;
  readonly max: number;
  /** How `max` was obtained: measured by the ramp in this run, or given on the command line. */
  readonly maxSource: string;
  readonly offered: number;
  readonly uac: UacResult;
  /** Calls shed with 503 (SIPp: the refused branch, FailedTimeoutOnRecv). */
  readonly shed: number;
  /** Stirgate's own count (stirgate_overload_shed_total); undefined for Kamailio. */
  readonly shedCounted: number | undefined;
  readonly memoryIdleKb: number;
  readonly memoryPeakKb: number;
  readonly memoryMethod: string;
  readonly drops: number;
  readonly crashed: boolean;
  readonly recovery: Recovery;
  /** Cores used during the offered load (utime + stime over wall time): the element, and SIPp's caller + callee. */
  readonly cpuElement: number;
  readonly cpuSipp: number;
}

async function shedCounter(el: Element): Promise<number | undefined> {
  if (el.metricsUrl === undefined) return undefined;
  try {
    const body = await (await fetch(el.metricsUrl, { signal: AbortSignal.timeout(3000) })).text();
    const m = /^stirgate_overload_shed_total (\S+)$/m.exec(body);
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** The element's sign maximum: given, or measured now by the load bench's ramp (its pass rules: bench/load). */
async function maximum(
  ctx: Context,
  o: Options,
  kind: ElementKind,
): Promise<{ max: number; source: string }> {
  const given = o.max[kind];
  if (given !== undefined) return { max: given, source: 'given' };
  const r = await ramp(ctx, kind, 'sign', (Date.now() - ctx.started) / 1000 + RAMP_BUDGET_S);
  if (r.maxRate === 0) throw new Error(`${kind}: no rate passed the ramp; give --${kind}-max=N`);
  return {
    max: r.maxRate,
    source: `measured in this run (${r.steps.map((x) => `${x.rate} ${x.pass ? 'pass' : 'fail'}`).join(', ')})`,
  };
}

async function overload(ctx: Context, o: Options, kind: ElementKind): Promise<ElementResult> {
  const { max, source: maxSource } = await maximum(ctx, o, kind);
  const dir = join(ctx.tmp, `overload-${kind}`);
  await mkdir(dir, { recursive: true });
  const uasPort = await freePort();
  const el = await freshElement(ctx, kind, 'sign', uasPort);
  const uas = startUas({
    port: uasPort,
    scenario: join(process.cwd(), 'bench', 'load', 'scenarios', 'uas.xml'),
    dir,
    timeoutS: o.seconds + RECOVERY_GIVE_UP_S + 60,
  });
  try {
    await sleep(500);
    const memoryIdleKb = await el.memoryKb();
    const drops0 = await udpDrops('127.0.0.1', el.port);
    const shed0 = await shedCounter(el);
    const rate = Math.round(max * o.factor);
    const offered = rate * o.seconds;
    log(`${kind}: offering ${rate} calls/s (${o.factor}x its maximum ${max}) for ${o.seconds} s`);
    const run = startUac({
      remote: `127.0.0.1:${el.port}`,
      scenario: join(process.cwd(), 'bench', 'overload', 'scenarios', 'uac.xml'),
      rate,
      calls: offered,
      pauseMs: PAUSE_MS,
      limit: rate * 40,
      // SIPp keeps creating calls late when it cannot keep up; the calls left when it stops count as unfinished.
      timeoutS: o.seconds + 40,
      dir,
      localPort: await freePort('127.0.0.2'),
      service: CALLEE,
      defaultBehaviors: BEHAVIOURS,
    });
    let memoryPeakKb = memoryIdleKb;
    let crashed = false;
    // On 2 shared cores SIPp takes its share of the CPU, more at twice the maximum than at the maximum: the
    // element's and SIPp's cores are measured over the offered load to say which one ran out.
    const sippPids = [run.process.pid, uas.process.pid];
    const cpu0 = { el: await cpuTicksOf(el.pids), sipp: await cpuTicksOf(sippPids) };
    const t0 = Date.now();
    while (Date.now() - t0 < o.seconds * 1000 && !run.process.done()) {
      await sleep(1000);
      memoryPeakKb = Math.max(memoryPeakKb, await el.memoryKb().catch(() => 0));
      if (el.main.done() || (await el.exited()).length > 0) crashed = true;
      const snap = kind === 'stirgate' ? await shedCounter(el) : undefined;
      log(
        `  ${kind} t=${Math.round((Date.now() - t0) / 1000)} s: memory ${(memoryPeakKb / 1024).toFixed(0)} MiB peak` +
          `${snap !== undefined ? `, shed ${snap - (shed0 ?? 0)}` : ''}, drops ${(await udpDrops('127.0.0.1', el.port)) - drops0}`,
      );
    }
    const cpuS = (Date.now() - t0) / 1000;
    const cpuElement = ((await cpuTicksOf(el.pids)) - cpu0.el) / CLOCK_TICKS / cpuS;
    const cpuSipp = ((await cpuTicksOf(sippPids)) - cpu0.sipp) / CLOCK_TICKS / cpuS;
    const recovery = await recover(el, dir);
    const uac = await run.result;
    memoryPeakKb = Math.max(memoryPeakKb, await el.memoryKb().catch(() => 0));
    if (el.main.done() || (await el.exited()).length > 0) crashed = true;
    const shedCounted = kind === 'stirgate' ? await shedCounter(el) : undefined;
    const r: ElementResult = {
      kind,
      max,
      maxSource,
      offered,
      uac,
      shed: Number(uac.stats['FailedTimeoutOnRecv(C)'] ?? 0),
      shedCounted: shedCounted !== undefined && shed0 !== undefined ? shedCounted - shed0 : undefined,
      memoryIdleKb,
      memoryPeakKb,
      memoryMethod: el.memoryMethod,
      drops: (await udpDrops('127.0.0.1', el.port)) - drops0,
      crashed,
      recovery,
      cpuElement,
      cpuSipp,
    };
    if (kind === 'stirgate') {
      const snap = await probe(el, 'snapshot');
      if (snap !== undefined) log(`  ${kind}: calls still active after the run ${snap.callsActive}`);
    }
    return r;
  } finally {
    await uas.stop();
    await el.stop();
  }
}

/** 1 s runs of 50 calls at 50/s, back to back from the end of the overload's call creation, until one is clean. */
async function recover(el: Element, dir: string): Promise<Recovery> {
  const start = Date.now();
  const runs: string[] = [];
  for (let i = 0; (Date.now() - start) / 1000 < RECOVERY_GIVE_UP_S; i++) {
    const at = (Date.now() - start) / 1000;
    const rdir = join(dir, `recovery-${i}`);
    await mkdir(rdir, { recursive: true });
    const r = await startUac({
      remote: `127.0.0.1:${el.port}`,
      scenario: join(process.cwd(), 'bench', 'overload', 'scenarios', 'uac.xml'),
      rate: RECOVERY_RATE,
      calls: RECOVERY_RATE,
      pauseMs: PAUSE_MS,
      limit: RECOVERY_RATE * 10,
      timeoutS: 15,
      dir: rdir,
      localPort: await freePort('127.0.0.2'),
      service: CALLEE,
      defaultBehaviors: BEHAVIOURS,
    }).result;
    runs.push(`${at.toFixed(1)} s: ${r.successful}/${RECOVERY_RATE}`);
    log(
      `  recovery run at ${at.toFixed(1)} s: ${r.successful}/${RECOVERY_RATE} completed, ${r.failed} failed`,
    );
    if (r.successful === RECOVERY_RATE) return { afterS: at, runs };
  }
  return { afterS: undefined, runs };
}

function row(r: ElementResult, seconds: number): Record<string, string> {
  const u = r.uac;
  const goodput = u.successful / seconds;
  const otherFailed = u.failed - r.shed;
  const pct = (n: number) => `${((100 * n) / r.offered).toFixed(1)} %`;
  const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
  return {
    'maximum, calls/s (sign)': `${r.max.toLocaleString('en-US')}: ${r.maxSource}`,
    'offered (calls/s x s)': `${r.offered / seconds} x ${seconds} = ${r.offered.toLocaleString('en-US')}`,
    'calls SIPp created': u.created.toLocaleString('en-US'),
    'completed (goodput)': `${u.successful.toLocaleString('en-US')} (${goodput.toFixed(0)} calls/s, ${((100 * goodput) / r.max).toFixed(0)} % of max ${r.max})`,
    'shed: 503 + Retry-After': `${r.shed.toLocaleString('en-US')} (${pct(r.shed)})${r.shedCounted !== undefined ? `; element counted ${r.shedCounted.toLocaleString('en-US')}` : ''}`,
    'other failures': `${otherFailed.toLocaleString('en-US')} (${pct(otherFailed)})`,
    'unfinished when SIPp stopped': `${u.incomplete.toLocaleString('en-US')} (${pct(u.incomplete)})`,
    'INVITE→200 p50 / p99, ms': rtt(u.rttMs),
    [`memory idle → peak (${r.memoryMethod})`]: `${mib(r.memoryIdleKb)} → ${mib(r.memoryPeakKb)}`,
    'kernel drops at its socket': r.drops.toLocaleString('en-US'),
    'cores used during the load: element / SIPp': `${r.cpuElement.toFixed(2)} / ${r.cpuSipp.toFixed(2)}`,
    crashed: r.crashed ? 'yes' : 'no',
    'first clean 50 calls/s run after the load':
      r.recovery.afterS === undefined
        ? `none in ${RECOVERY_GIVE_UP_S} s`
        : `${r.recovery.afterS.toFixed(1)} s (${r.recovery.runs.length} run(s))`,
  };
}

function rtt(ms: Float64Array): string {
  if (ms.length === 0) return '-';
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
  return `${q(0.5)} / ${q(0.99)}`;
}

function table(results: readonly ElementResult[], seconds: number): string {
  const rows = results.map((r) => row(r, seconds));
  const keys = Object.keys(rows[0] ?? {});
  const names = results.map((r) => (r.kind === 'stirgate' ? 'Stirgate' : 'Kamailio + secsipid'));
  const lines = [`| | ${names.join(' | ')} |`, `|---|${names.map(() => '---').join('|')}|`];
  for (const k of keys) lines.push(`| ${k} | ${rows.map((r) => r[k]).join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const o = options(argv);
  const s = settings([
    '--quick',
    '--only=sign',
    `--rates=${RAMP_RATES.join(',')}`,
    `--stirgate-workers=${o.stirgateWorkers}`,
  ]);
  const tmp = await mkdtemp(join(tmpdir(), 'stirgate-overload-'));
  if (o.keep) keepIfInterrupted(tmp);
  else removeIfInterrupted(tmp);
  const loadStart = loadavg();
  log(
    `overload bench: ${cpus().length} CPUs, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}; scratch ${tmp}`,
  );
  const dev = await loadOrCreateDevPki(join(tmp, 'pki'));
  const ctx: Context = {
    s,
    tmp,
    pki: {
      dir: join(tmp, 'pki'),
      keyFile: dev.files.spKey,
      chainFile: dev.files.spChain,
      caFile: dev.files.ca,
    },
    privateKey: createPrivateKey(await readFile(dev.files.spKey, 'utf8')),
    // Signing only: the URL goes into PASSporTs, nobody fetches it.
    x5u: 'http://127.0.0.1:9/sp.pem',
    x5uPort: 9,
    origid: '8f0d6a3e-1c4b-4b7e-9a55-2f4d0c7e9b10',
    started: Date.now(),
    x5uFetches: { count: 0 },
    direct: new Map(),
  };
  const results: ElementResult[] = [];
  for (const kind of o.elements) results.push(await overload(ctx, o, kind));
  const loadEnd = loadavg();
  const out = [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: \`node dist/bench/overload/run.js ${argv.filter((a) => a !== '--keep').join(' ')}\`; ` +
      `${cpus().length} CPUs, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadEnd.map((l) => l.toFixed(2)).join(' ')} at end; ` +
      `Stirgate \`workers: ${o.stirgateWorkers}\`, Kamailio \`-n ${s.kamailioWorkers} -m ${s.kamailioShmMb}\`; signing; each call INVITE, 100, 180, 200, ACK, ${PAUSE_MS} ms, BYE, 200.`,
    '',
    table(results, o.seconds),
    '',
    `Target: goodput >= 90 % of the maximum, no admitted call fails, no crash, memory bounded, a clean ${RECOVERY_RATE} calls/s run within ${RECOVERY_TARGET_S} s.`,
  ].join('\n');
  console.log(`\n${out}\n`);
  await writeFile(join(tmp, 'overload-report.md'), `${out}\n`);
  await writeFile(
    join(tmp, 'overload-report.json'),
    JSON.stringify(
      { options: o, results: results.map((r) => ({ ...r, uac: { ...r.uac, rttMs: undefined } })) },
      null,
      2,
    ),
  );
  if (!o.keep) await rm(tmp, { recursive: true, force: true });
  else log(`kept ${tmp}`);
  return 0;
}

main().then(
  (code) => {
    killAll();
    process.exitCode = code;
  },
  (err: unknown) => {
    killAll();
    console.error(err);
    process.exitCode = 1;
  },
);

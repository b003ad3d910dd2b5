/**
 * Load bench: Stirgate against Kamailio + secsipid, side by side in one bounded run on 127.0.0.1
 * (bench/load/README.md). From the repository root:
 *
 *   npm run build && node dist/bench/load/run.js            full run (≤ 23 min), writes docs/performance.md
 *   node dist/bench/load/run.js --quick                      short steps for development, no doc
 *
 * For signing and for verifying, each element (fresh process) takes SIPp calls at rising rates; a step
 * passes when all its calls were placed on time, fewer than 0.1 % failed or were left unfinished, and
 * 99 % of INVITEs had their 200 within T1 (500 ms, before the caller retransmits). The highest passing rate,
 * held for the whole step (20 s), is the element's maximum. Then: latency at half of that maximum against
 * SIPp talking to SIPp directly, Stirgate's signing core against raw crypto.sign measured in this process,
 * and the memory of 10,000 established calls through Stirgate.
 *
 * Flags: --quick, --no-doc, --keep (keep the scratch directory), --only=sign,verify,memory,
 * --elements=kamailio,stirgate, --rates=1000,1500,..., --minutes=N (budget, default 23),
 * --traceback=off (Stirgate without traceback records, to measure their cost),
 * --kamailio-workers=N (-n, default 2), --kamailio-shm=MB (-m, default 1024), --stirgate-workers=N
 * (Stirgate `workers`, default 2: as many SIP worker processes as Kamailio's), --stirgate-rcvbuf=BYTES
 * (experiment: SO_RCVBUF forced on Stirgate's UDP sockets by the probe), --profile (profile Stirgate with
 * --cpu-prof at its first failing rate and take heap snapshots; automatic in a full run when a target is
 * missed and time is left).
 */

import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateDevPki } from '../../src/stir/pki/dev-pki.js';
import type { BenchPki, Mode } from './elements.js';
import { type MemoryResult, memoryRun } from './memory.js';
import { keepIfInterrupted, killAll, removeIfInterrupted } from './processes.js';
import { type ProfileResult, profile, rawCrypto } from './profile.js';
import { type RampResult, ramp } from './ramp.js';
import { type LoadReport, printReport, writeDocSection } from './report.js';
import { type Context, left, log, settings } from './settings.js';
import { SIGNATURE_CHECK_MAX_S, SIGNATURE_CHECK_RATE, signatureCheckRun } from './signature-check.js';

// --- x5u server and environment ----------------------------------------------------------------------------

async function startX5u(pem: string, fetches: { count: number }): Promise<{ server: Server; port: number }> {
  const body = Buffer.from(pem);
  const server = createServer((req, res) => {
    if (req.url === '/sp.pem') {
      fetches.count++;
      res.writeHead(200, {
        'Content-Type': 'application/pem-certificate-chain',
        'Content-Length': body.length,
        'Cache-Control': 'max-age=3600',
      });
      res.end(body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function commandOutput(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

export interface Environment {
  readonly date: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly node: string;
  readonly kamailio: string;
  readonly sipp: string;
  readonly libsecsipid: string;
  readonly openFiles: string;
  /** net.core.rmem_default / rmem_max: the UDP receive buffer a socket gets / may ask for, bytes. */
  readonly rmemDefault: number;
  readonly rmemMax: number;
  readonly command: string;
}

async function sysctlNumber(path: string): Promise<number> {
  return Number((await readFile(path, 'utf8').catch(() => '')).trim()) || 0;
}

async function environment(argv: readonly string[]): Promise<Environment> {
  const dpkg = /\S+\s+(\S+)/.exec(commandOutput('dpkg-query', ['-W', 'libsecsipid1']))?.[1] ?? '';
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    loadStart: loadavg(),
    loadEnd: [],
    node: process.version,
    kamailio: /kamailio (\S+)/.exec(commandOutput('kamailio', ['-v']))?.[1] ?? 'unknown',
    sipp: /SIPp (v?[\d.]+)/.exec(commandOutput('sipp', ['-v']))?.[1] ?? 'unknown',
    libsecsipid: dpkg || 'unknown',
    openFiles: commandOutput('sh', ['-c', 'ulimit -n']).trim(),
    rmemDefault: await sysctlNumber('/proc/sys/net/core/rmem_default'),
    rmemMax: await sysctlNumber('/proc/sys/net/core/rmem_max'),
    // --keep only changes what stays on disk: not part of the command that produced the figures.
    command: ['node dist/bench/load/run.js', ...argv.filter((a) => a !== '--keep')].join(' '),
  };
}

// --- main ------------------------------------------------------------------------------------------------

/**
 * `--render=FILE`: print (and, unless --no-doc, write to docs/performance.md) the report of an earlier run
 * from its load-report.json, without measuring anything; the doc keeps that run's own command and date.
 */
async function render(file: string, writeDoc: boolean): Promise<number> {
  const report = JSON.parse(await readFile(file, 'utf8')) as LoadReport;
  printReport(report);
  if (writeDoc && !report.settings.quick) {
    await writeDocSection(report);
    log('docs/performance.md: Load section written');
  }
  return 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const renderFile = argv.find((a) => a.startsWith('--render='))?.slice('--render='.length);
  if (renderFile !== undefined) return render(renderFile, !argv.includes('--no-doc'));
  const s = settings(argv);
  for (const bin of ['sipp', 'kamailio']) {
    if (commandOutput('sh', ['-c', `command -v ${bin}`]).trim() === '')
      throw new Error(`${bin} is not installed (Debian: sip-tester, kamailio, kamailio-secsipid-modules)`);
  }
  const env = await environment(argv);
  const tmp = await mkdtemp(join(tmpdir(), 'stirgate-load-'));
  if (!s.keep) removeIfInterrupted(tmp);
  log(
    `load bench: ${env.cpus} CPUs (${env.cpuModel}), load average ${env.loadStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  log(`scratch directory ${tmp}${s.quick ? ' (quick mode: short steps, no doc)' : ''}`);
  log(
    `stirgate: workers ${s.stirgateWorkers}${s.stirgateWorkers > 1 ? ' (cluster primary + SIP workers)' : ' (one process)'}, ` +
      `traceback ${s.traceback ? 'on' : 'off'}; ` +
      `kamailio: -n ${s.kamailioWorkers} -m ${s.kamailioShmMb}`,
  );

  const dev = await loadOrCreateDevPki(join(tmp, 'pki'));
  const roots = join(tmp, 'pki', 'roots');
  await mkdir(roots, { recursive: true });
  await copyFile(dev.files.ca, join(roots, 'ca.pem'));
  const pki: BenchPki = {
    dir: join(tmp, 'pki'),
    keyFile: dev.files.spKey,
    chainFile: dev.files.spChain,
    caFile: dev.files.ca,
  };
  const fetches = { count: 0 };
  const x5uServer = await startX5u(dev.spChainPem, fetches);
  const x5u = `http://127.0.0.1:${x5uServer.port}/sp.pem`;
  const privateKey = createPrivateKey(await readFile(dev.files.spKey, 'utf8'));
  const ctx: Context = {
    s,
    tmp,
    pki,
    privateKey,
    x5u,
    x5uPort: x5uServer.port,
    origid: randomUUID(),
    started: Date.now(),
    x5uFetches: fetches,
    direct: new Map(),
  };

  const raw = await rawCrypto(privateKey, x5u, ctx.origid);
  log(
    `raw crypto.sign: callback p50 ${raw.asyncP50Us} µs p99 ${raw.asyncP99Us} µs; sync p50 ${raw.syncP50Us} µs p99 ${raw.syncP99Us} µs`,
  );

  const ramps: RampResult[] = [];
  const modes = (['sign', 'verify'] as const).filter((m) => s.phases.has(m));
  // Kept for what follows the ramps: held calls (+ heap snapshots if over target), profiles, the report.
  const reserveS =
    (s.phases.has('memory') ? 180 : 0) +
    (s.phases.has('signature-check')
      ? 4 * (s.latencyS + 15) + (s.phases.has('verify') ? SIGNATURE_CHECK_MAX_S : 0)
      : 0) +
    (s.quick ? 0 : 2 * 40) +
    20;
  const rampCount = modes.length * s.elements.length;
  let i = 0;
  for (const mode of s.profileAt === undefined ? modes : []) {
    for (const kind of s.elements) {
      i++;
      const deadlineS = ((s.budgetS - reserveS) * i) / rampCount;
      ramps.push(await ramp(ctx, kind, mode, deadlineS));
    }
  }
  // Issue 19: verification's tail with the ES256 check on the loop and on the threadpool, at 1,000 calls/s.
  const signatureCheck =
    s.phases.has('signature-check') && s.elements.includes('stirgate')
      ? await signatureCheckRun(
          ctx,
          SIGNATURE_CHECK_RATE,
          // The threadpool's maximum needs the verify ramp's time again; only in a run with the ramps.
          s.phases.has('verify') ? (Date.now() - ctx.started) / 1000 + SIGNATURE_CHECK_MAX_S : undefined,
        )
      : undefined;
  const mem = s.phases.has('memory')
    ? await memoryRun(ctx, { calls: s.heldCalls, rate: s.heldRate, heap: false })
    : undefined;
  // Over target (or asked to): attribute the per-call memory with heap snapshots on a smaller run.
  let memHeap: MemoryResult | undefined;
  if (mem !== undefined && (s.profile || mem.rssPerCallBytes >= 4096)) {
    if (s.profile || left(ctx, s.budgetS) > 60)
      memHeap = await memoryRun(ctx, { calls: 2000, rate: 500, heap: true });
    else log('memory: target missed, no time left for heap snapshots (run with --only=memory --profile)');
  }

  const profiles: ProfileResult[] = [];
  if (s.profileAt !== undefined) {
    for (const mode of modes) {
      const p = await profile(ctx, mode, s.profileAt);
      if (p !== undefined) profiles.push(p);
    }
  }
  const kamailioMax = (mode: Mode) =>
    ramps.find((r) => r.element === 'kamailio' && r.mode === mode)?.maxRate ?? 0;
  for (const r of ramps) {
    if (r.element !== 'stirgate') continue;
    const target = r.mode === 'sign' ? 1.0 : 1.5;
    const missed = r.maxRate < target * kamailioMax(r.mode);
    const wanted = s.profile || (!s.quick && missed);
    const rate = r.firstFail ?? r.maxRate;
    if (!wanted || rate === 0) continue;
    if (!s.profile && left(ctx, s.budgetS) < s.latencyS + 25) {
      log(`stirgate ${r.mode}: target missed, no time left to profile (run with --profile)`);
      continue;
    }
    const p = await profile(ctx, r.mode, rate);
    if (p !== undefined) profiles.push(p);
  }

  x5uServer.server.close();
  const report: LoadReport = {
    env: { ...env, loadEnd: loadavg() },
    settings: {
      quick: s.quick,
      stepS: s.stepS,
      latencyS: s.latencyS,
      pauseMs: s.pauseMs,
      rates: s.rates,
      heldCalls: s.heldCalls,
      kamailioWorkers: s.kamailioWorkers,
      kamailioShmMb: s.kamailioShmMb,
      stirgateWorkers: s.stirgateWorkers,
      traceback: s.traceback,
      stirgateRcvbuf: s.stirgateRcvbuf,
    },
    raw,
    ramps,
    ...(mem !== undefined ? { memory: mem } : {}),
    ...(signatureCheck !== undefined ? { signatureCheck } : {}),
    ...(memHeap?.heapPerCall !== undefined
      ? {
          heapPerCall: {
            calls: memHeap.heldCalls,
            rows: memHeap.heapPerCall,
            idleHeapBytes: memHeap.idleHeapGcBytes,
            heldHeapBytes: memHeap.heldHeapGcBytes,
            afterEnd: memHeap.heapAfterEnd ?? [],
          },
        }
      : {}),
    profiles,
    elapsedS: Math.round((Date.now() - ctx.started) / 1000),
  };
  printReport(report);
  const json = join(tmp, 'load-report.json');
  await writeFile(json, JSON.stringify(report, null, 2));
  if (s.writeDoc) {
    await writeDocSection(report);
    log('docs/performance.md: Load section written');
  }
  keepIfInterrupted(tmp);
  if (s.keep) log(`kept ${tmp} (report: ${json})`);
  else {
    for (const p of profiles) for (const f of p.files ?? [p.file]) log(`profile kept: ${f}`);
    await rm(join(tmp, 'steps'), { recursive: true, force: true });
    await rm(join(tmp, 'elements'), { recursive: true, force: true });
    await rm(join(tmp, 'profile'), { recursive: true, force: true });
    log(`report: ${json}`);
  }
  return 0;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: unknown) => {
    console.error('load bench failed:', err);
    killAll();
    process.exit(1);
  },
);

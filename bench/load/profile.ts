/**
 * Baselines and diagnosis: raw crypto.sign timed in the bench process, and Stirgate under
 * `node --cpu-prof` for one step (with workers > 1: every process profiled, the workers' merged).
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProfileSummary, summariseProfile } from './cpu-profile.js';
import type { Mode } from './elements.js';
import { quantileOfSorted } from './log-histogram.js';
import { freePort } from './processes.js';
import { type Context, log } from './settings.js';
import { freshElement, runStep, type StepResult } from './step.js';

// --- raw crypto and profile ------------------------------------------------------------------------------

export interface RawCrypto {
  /** crypto.sign with a callback (libuv threadpool), one at a time: call -> callback, µs. */
  readonly asyncP50Us: number;
  readonly asyncP99Us: number;
  /** crypto.sign synchronous, µs. */
  readonly syncP50Us: number;
  readonly syncP99Us: number;
}

export async function rawCrypto(privateKey: KeyObject, x5u: string, origid: string): Promise<RawCrypto> {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u })).toString(
    'base64url',
  );
  const claims = Buffer.from(
    JSON.stringify({
      attest: 'A',
      dest: { tn: ['12025550199'] },
      iat: 1,
      orig: { tn: '12025550100' },
      origid,
    }),
  ).toString('base64url');
  const data = Buffer.from(`${header}.${claims}`, 'latin1');
  const key = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  const N = 3000;
  const sync = new Float64Array(N);
  for (let i = -300; i < N; i++) {
    const t = process.hrtime.bigint();
    cryptoSign('sha256', data, key);
    if (i >= 0) sync[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  const async = new Float64Array(N);
  for (let i = -300; i < N; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) =>
      cryptoSign('sha256', data, key, (err) => (err ? reject(err) : resolve())),
    );
    if (i >= 0) async[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  sync.sort();
  async.sort();
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    asyncP50Us: r(quantileOfSorted(async, 0.5)),
    asyncP99Us: r(quantileOfSorted(async, 0.99)),
    syncP50Us: r(quantileOfSorted(sync, 0.5)),
    syncP99Us: r(quantileOfSorted(sync, 0.99)),
  };
}

export interface ProfileResult {
  readonly mode: Mode;
  readonly rate: number;
  readonly step: StepResult;
  /** Self time of the processes handling calls: the single process, or every cluster worker's profile merged. */
  readonly summary: ProfileSummary;
  /** The profile kept (the single process's; with workers, worker 0's). */
  readonly file: string;
  /** Every profile kept: the workers' (`-w<k>`), then the primary's (`-primary`); absent for one process. */
  readonly files?: readonly string[];
  /** With workers: the cluster primary's busy share over its life, percent (it handles no SIP). */
  readonly primaryBusyPct?: number;
}

/**
 * Stirgate under `node --cpu-prof` for one step at `rate`; every process writes its profile when it exits
 * (`CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile`). With workers > 1 the workers' profiles are merged
 * (cpu-profile.ts) and the primary's is summarised on its own.
 */
export async function profile(ctx: Context, mode: Mode, rate: number): Promise<ProfileResult | undefined> {
  const dir = join(ctx.tmp, 'profile', mode);
  await mkdir(dir, { recursive: true });
  const uasPort = await freePort();
  log(`stirgate ${mode}: CPU profile at ${rate} calls/s`);
  const el = await freshElement(ctx, 'stirgate', mode, uasPort, [
    '--cpu-prof',
    '--cpu-prof-interval',
    '250',
    '--cpu-prof-dir',
    dir,
  ]);
  let step: StepResult;
  try {
    step = await runStep(ctx, {
      label: `stirgate-${mode}-profile-${rate}`,
      mode,
      rate,
      durationS: ctx.s.latencyS,
      element: el,
      uasPort,
      judged: true,
    });
  } finally {
    await el.stop();
  }
  const written = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (written.length === 0) return undefined;
  const pidOf = (f: string) => Number(/^CPU\.\d+\.\d+\.(\d+)\./.exec(f)?.[1] ?? -1);
  if ((el.workers ?? 1) <= 1) {
    const kept = join(ctx.tmp, `stirgate-${mode}-${rate}.cpuprofile`);
    await copyFile(join(dir, written.find((f) => pidOf(f) === el.main.pid) ?? written[0]!), kept);
    return { mode, rate, step, summary: await summariseProfile(kept, process.cwd()), file: kept };
  }
  // Worker index by pid, from the probe (the pids are the primary's children in /proc order otherwise).
  const indexOf = new Map((step.probe?.workers ?? []).map((w) => [w.pid, w.index]));
  const workerFiles: string[] = [];
  let primaryFile: string | undefined;
  for (const f of written.sort()) {
    const pid = pidOf(f);
    if (pid === el.main.pid) {
      primaryFile = join(ctx.tmp, `stirgate-${mode}-${rate}-primary.cpuprofile`);
      await copyFile(join(dir, f), primaryFile);
      continue;
    }
    const kept = join(ctx.tmp, `stirgate-${mode}-${rate}-w${indexOf.get(pid) ?? `pid${pid}`}.cpuprofile`);
    await copyFile(join(dir, f), kept);
    workerFiles.push(kept);
  }
  if (workerFiles.length < (el.workers ?? 1))
    log(`  profile: ${workerFiles.length} worker profiles written for ${el.workers} workers`);
  if (workerFiles.length === 0) return undefined;
  workerFiles.sort();
  const summary = await summariseProfile(workerFiles, process.cwd());
  const primary = primaryFile !== undefined ? await summariseProfile(primaryFile, process.cwd()) : undefined;
  log(
    `  profile: ${workerFiles.length} worker profiles merged (busy ${summary.busyPctEach?.join(' / ') ?? summary.busyPct} %)` +
      `${primary !== undefined ? `; primary busy ${primary.busyPct} %` : ''}`,
  );
  return {
    mode,
    rate,
    step,
    summary,
    file: workerFiles[0]!,
    files: [...workerFiles, ...(primaryFile !== undefined ? [primaryFile] : [])],
    ...(primary !== undefined ? { primaryBusyPct: primary.busyPct } : {}),
  };
}

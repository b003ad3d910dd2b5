/**
 * Baselines and diagnosis: raw crypto.sign timed in the bench process, and Stirgate under
 * `node --cpu-prof` for one step.
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
  readonly summary: ProfileSummary;
  readonly file: string;
}

/** Stirgate under `node --cpu-prof` for one step at `rate`; the profile is written when it exits. */
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
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) return undefined;
  const kept = join(ctx.tmp, `stirgate-${mode}-${rate}.cpuprofile`);
  await copyFile(join(dir, file), kept);
  return { mode, rate, step, summary: await summariseProfile(kept, process.cwd()), file: kept };
}

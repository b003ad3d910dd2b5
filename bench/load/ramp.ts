/**
 * A ramp: one element, one mode, rising call rates until the first failing step, two bisection steps,
 * then latency at half of the maximum against SIPp calling SIPp directly at the same rate.
 */
import type { ElementKind, ElementOptions, Mode } from './elements.js';
import { freePort } from './processes.js';
import { type Context, left, log } from './settings.js';
import { freshElement, runStep, type StepResult } from './step.js';

export interface RampResult {
  readonly element: ElementKind;
  readonly mode: Mode;
  readonly steps: readonly StepResult[];
  /** Highest rate that passed a full step (0 when none did). */
  readonly maxRate: number;
  /** Lowest rate that failed (undefined when the list of rates ran out first). */
  readonly firstFail: number | undefined;
  /** The step at half of maxRate (latency, signing core). */
  readonly half: StepResult | undefined;
  /** SIPp to SIPp at the same rate and with the same caller scenario. */
  readonly direct: StepResult | undefined;
  /**
   * Passing steps at the fixed rates (FIXED_RATES at or under the maximum), for CPU per call at equal load:
   * a steadier comparison on a shared machine than the maxima.
   */
  readonly fixed: readonly StepResult[];
  /** Whether Kamailio/Stirgate fetched the certificate (verify: from the bench's x5u server). */
  readonly x5uFetches: number;
  readonly notes: readonly string[];
}

const round50 = (n: number) => Math.max(50, Math.round(n / 50) * 50);

/** Rates at which CPU per call is reported for both elements (issue 19). */
export const FIXED_RATES = [500, 1000, 1500] as const;

export interface RampOptions {
  /** Stirgate configuration variant (signature-check.ts: the verification arrangement not on by default). */
  readonly variant?: Pick<ElementOptions, 'signatureCheck'>;
  /** Only the maximum: no fixed-rate steps, no step at half of it, no direct baseline. */
  readonly maxOnly?: boolean;
  /** Added to the steps' labels. */
  readonly tag?: string;
}

export async function ramp(
  ctx: Context,
  kind: ElementKind,
  mode: Mode,
  deadlineS: number,
  opts: RampOptions = {},
): Promise<RampResult> {
  const { s } = ctx;
  const notes: string[] = [];
  const steps: StepResult[] = [];
  const uasPort = await freePort();
  const fetches0 = ctx.x5uFetches.count;
  log(`${kind} ${mode}: starting (deadline for this ramp in ${left(ctx, deadlineS).toFixed(0)} s)`);
  // The half-load latency step and its direct baseline are targets; a refinement is only precision, so
  // the rate steps leave them their time.
  const stepsDeadlineS = deadlineS - 2 * (s.latencyS + 8);
  let el = await freshElement(ctx, kind, mode, uasPort, undefined, opts.variant);
  let dirty = false;
  const fresh = async () => {
    if (!dirty) return;
    await el.stop();
    el = await freshElement(ctx, kind, mode, uasPort, undefined, opts.variant);
    dirty = false;
  };
  const stepCost = s.stepS + 12 + (mode === 'verify' ? 4 : 0);
  const step = async (rate: number, tag: string, durationS = s.stepS) => {
    for (let attempt = 1; ; attempt++) {
      await fresh();
      const r = await runStep(ctx, {
        label: `${kind}-${mode}-${opts.tag ?? ''}${tag}${rate}${attempt > 1 ? `-again${attempt}` : ''}`,
        mode,
        rate,
        durationS,
        element: el,
        uasPort,
        judged: true,
      });
      if (!r.pass) dirty = true;
      if (r.invalid && attempt < 3) {
        notes.push(`${rate}/s measured again: ${r.why}`);
        continue;
      }
      steps.push(r);
      return r;
    }
  };

  let maxRate = 0;
  let firstFail: number | undefined;
  for (const rate of s.rates) {
    if (left(ctx, stepsDeadlineS) < stepCost) {
      notes.push(`time budget: stopped before ${rate}/s`);
      break;
    }
    const r = await step(rate, '');
    if (r.pass) maxRate = rate;
    else {
      firstFail = rate;
      break;
    }
  }
  // Bisect between the last pass (0 when the first rate failed) and the first failure: two more steps.
  for (let k = 0; k < 2 && firstFail !== undefined; k++) {
    const rate = round50((maxRate + firstFail) / 2);
    if (rate <= maxRate || rate >= firstFail || firstFail - maxRate <= 100) break;
    if (left(ctx, stepsDeadlineS) < stepCost + 8) {
      notes.push(`time budget: no refinement at ${rate}/s`);
      break;
    }
    const r = await step(rate, 'refine-');
    if (r.pass) maxRate = rate;
    else firstFail = rate;
  }
  // CPU per call at the fixed rates the element sustains: reuse a passing step at that rate, else measure one.
  for (const rate of opts.maxOnly ? [] : FIXED_RATES) {
    if (rate > maxRate || steps.some((x) => x.rate === rate && x.pass)) continue;
    if (left(ctx, stepsDeadlineS) < stepCost) {
      notes.push(`time budget: no fixed-rate step at ${rate}/s`);
      continue;
    }
    await step(rate, 'fixed-');
  }
  const fixed = FIXED_RATES.map((rate) => steps.find((x) => x.rate === rate && x.pass)).filter(
    (x): x is StepResult => x !== undefined,
  );
  // Latency and signing core at half of the maximum: reuse a passing step at that rate, else measure one.
  let half: StepResult | undefined;
  if (maxRate > 0 && !opts.maxOnly) {
    const halfRate = round50(maxRate / 2);
    half = steps.find((x) => x.rate === halfRate && x.pass);
    if (half === undefined && left(ctx, deadlineS) >= s.latencyS + 16) {
      // On a fresh (warmed-up) element, as the ramp's lower steps were: what is left over from the
      // heavier steps (queues, memory of recent calls) must not colour the latency at half load.
      dirty = true;
      half = await step(halfRate, 'half-', s.latencyS);
    }
    if (half === undefined) notes.push('time budget: no step at half of the maximum');
  }
  await el.stop();
  let direct: StepResult | undefined;
  if (half !== undefined) {
    const key = `${mode}@${half.rate}`;
    direct = ctx.direct.get(key);
    if (direct === undefined) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        direct = await runStep(ctx, {
          label: `direct-${mode}-${half.rate}${attempt > 1 ? `-again${attempt}` : ''}`,
          mode,
          rate: half.rate,
          durationS: s.latencyS,
          element: undefined,
          uasPort: await freePort(),
          judged: true,
        });
        if (!direct.invalid) break;
      }
      ctx.direct.set(key, direct!);
    }
  }
  log(`${kind} ${mode}: max ${maxRate} calls/s${firstFail !== undefined ? ` (failed at ${firstFail})` : ''}`);
  return {
    element: kind,
    mode,
    steps,
    maxRate,
    firstFail,
    half,
    direct,
    fixed,
    x5uFetches: ctx.x5uFetches.count - fetches0,
    notes,
  };
}

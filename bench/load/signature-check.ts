/**
 * Where Stirgate's ES256 verification runs (issue 19): `stir.verification.signature_check` event_loop
 * (synchronous crypto.verify) against threadpool (libuv's pool, the callback form), at one verify rate,
 * in the same run and alternated (event_loop, threadpool, event_loop, threadpool), each round a fresh
 * element warmed up as the ramps' are. Reported per round: verification time inside Stirgate and INVITE
 * in→out from the probe, SIPp's INVITE→200, element CPU per call.
 */
import type { SignatureCheck } from './elements.js';
import { freePort } from './processes.js';
import { ramp } from './ramp.js';
import { type Context, log } from './settings.js';
import { cpuPerCallUs, freshElement, runStep, type StepResult } from './step.js';

export interface SignatureCheckRound {
  readonly arrangement: SignatureCheck;
  readonly step: StepResult;
}

export interface SignatureCheckResult {
  readonly rate: number;
  readonly rounds: readonly SignatureCheckRound[];
  /**
   * The verify maximum with the check on the threadpool (a ramp of its own, maximum only); the ramp of the
   * main table ran with the default, event_loop. Absent when the budget left no time for it.
   */
  readonly threadpoolMax?: { readonly maxRate: number; readonly firstFail: number | undefined };
}

/** The rate of the issue's verification target (p99 < 2 ms inside Stirgate at 1,000 calls/s). */
export const SIGNATURE_CHECK_RATE = 1000;
/** Seconds given to the threadpool arrangement's own verify ramp (maximum only). */
export const SIGNATURE_CHECK_MAX_S = 200;

const ORDER: readonly SignatureCheck[] = ['event_loop', 'threadpool', 'event_loop', 'threadpool'];

export async function signatureCheckRun(
  ctx: Context,
  rate: number,
  maxDeadlineS: number | undefined,
): Promise<SignatureCheckResult> {
  const uasPort = await freePort();
  const rounds: SignatureCheckRound[] = [];
  log(`stirgate verify: signature check on the event loop against the threadpool, ${rate} calls/s`);
  for (const [i, arrangement] of ORDER.entries()) {
    const el = await freshElement(ctx, 'stirgate', 'verify', uasPort, undefined, {
      signatureCheck: arrangement,
    });
    try {
      const step = await runStep(ctx, {
        label: `stirgate-verify-${arrangement}-${i + 1}-${rate}`,
        mode: 'verify',
        rate,
        durationS: ctx.s.latencyS,
        element: el,
        uasPort,
        judged: true,
      });
      rounds.push({ arrangement, step });
    } finally {
      await el.stop();
    }
  }
  if (maxDeadlineS === undefined) return { rate, rounds };
  const r = await ramp(ctx, 'stirgate', 'verify', maxDeadlineS, {
    variant: { signatureCheck: 'threadpool' },
    maxOnly: true,
    tag: 'threadpool-',
  });
  return { rate, rounds, threadpoolMax: { maxRate: r.maxRate, firstFail: r.firstFail } };
}

export function signatureCheckLines(
  r: SignatureCheckResult | undefined,
  eventLoopMax: { maxRate: number; firstFail: number | undefined } | undefined,
): string[] {
  if (r === undefined || r.rounds.length === 0) return [];
  const rows = r.rounds.map(({ arrangement, step: s }, i) => {
    const p = s.probe;
    const timing = (h: { p50Us: number; p99Us: number } | undefined) =>
      h === undefined ? '-' : `${h.p50Us} / ${h.p99Us}`;
    return (
      `| ${i + 1} | \`${arrangement}\` | ${s.successful.toLocaleString('en-US')} of ${s.calls.toLocaleString('en-US')} | ` +
      `${timing(p?.verify)} | ${timing(p?.forwarded)} | ${s.rtt.p50} / ${s.rtt.p99} | ` +
      `${s.cpu.element.toFixed(2)} | ${cpuPerCallUs(s).toLocaleString('en-US')} | ${p ? `${Math.round(p.loopDelayMs.p99)} / ${Math.round(p.loopDelayMs.max)}` : '-'} |`
    );
  });
  return [
    `Where verification runs (\`stir.verification.signature_check\`), verify at ${r.rate.toLocaleString('en-US')} calls/s, ` +
      'rounds alternated in this run, each a fresh element:',
    '',
    '| round | signature check | calls completed | verification p50 / p99 µs | INVITE in→out p50 / p99 µs | INVITE→200 p50 / p99 ms | element CPU, cores | CPU per call µs | loop late p99 / max ms |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(r.threadpoolMax !== undefined && eventLoopMax !== undefined
      ? [
          `Verify maximum in this run: \`event_loop\` ${maxText(eventLoopMax)} (the ramp above), ` +
            `\`threadpool\` ${maxText(r.threadpoolMax)} (a ramp of its own, same rates and bisection).`,
          '',
        ]
      : []),
  ];
}

function maxText(m: { maxRate: number; firstFail: number | undefined }): string {
  return `${m.maxRate.toLocaleString('en-US')} calls/s${m.firstFail !== undefined ? ` (${m.firstFail.toLocaleString('en-US')} failed)` : ''}`;
}

/**
 * The load bench's settings (command-line flags) and the context shared by its phases.
 */
import type { KeyObject } from 'node:crypto';
import type { BenchPki, ElementKind } from './elements.js';
import type { StepResult } from './step.js';

// --- settings ---------------------------------------------------------------------------------------------

export type Phase = 'sign' | 'verify' | 'memory' | 'signature-check';

export interface Settings {
  readonly quick: boolean;
  readonly writeDoc: boolean;
  readonly keep: boolean;
  readonly profile: boolean;
  /** `--profile-at=N`: no ramps; profile Stirgate at N calls/s in each mode of --only (development). */
  readonly profileAt: number | undefined;
  readonly phases: ReadonlySet<Phase>;
  readonly elements: readonly ElementKind[];
  readonly rates: readonly number[];
  /** Seconds of calls per ramp step (the rate must hold this long). */
  readonly stepS: number;
  /** Seconds of calls for a latency step at half of the maximum, and for the direct baseline. */
  readonly latencyS: number;
  readonly warmupS: number;
  readonly pauseMs: number;
  readonly heldCalls: number;
  readonly heldRate: number;
  readonly budgetS: number;
  /** Kamailio UDP workers (-n). */
  readonly kamailioWorkers: number;
  /** Kamailio shared memory, MB (-m). */
  readonly kamailioShmMb: number;
  /**
   * Stirgate `workers` (SIP worker processes sharing the SIP socket; default 2, as many as Kamailio's `-n`
   * UDP workers; 1: the single process).
   */
  readonly stirgateWorkers: number;
  /** Stirgate `traceback.enabled` (`--traceback=off` measures its cost against the default, on). */
  readonly traceback: boolean;
  /** Experiment: SO_RCVBUF forced on Stirgate's UDP sockets by the probe (0: Stirgate as it is). */
  readonly stirgateRcvbuf: number;
}

export function settings(argv: readonly string[]): Settings {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const unknown = argv.filter(
    (a) =>
      !/^--(quick|no-doc|keep|profile|profile-at=\d+|only=.*|elements=.*|rates=.*|minutes=.*|kamailio-workers=\d+|kamailio-shm=\d+|stirgate-workers=\d+|stirgate-rcvbuf=\d+|traceback=(on|off))$/.test(
        a,
      ),
  );
  if (unknown.length > 0)
    throw new Error(`unknown argument(s): ${unknown.join(' ')} (see bench/load/README.md)`);
  const quick = flag('quick');
  const list = (v: string | undefined) => v?.split(',').filter((x) => x !== '');
  const phases = new Set((list(value('only')) ?? ['sign', 'verify', 'signature-check', 'memory']) as Phase[]);
  for (const p of phases)
    if (!['sign', 'verify', 'memory', 'signature-check'].includes(p))
      throw new Error(`--only: unknown phase ${p}`);
  const elements = (list(value('elements')) ?? ['stirgate', 'kamailio']) as ElementKind[];
  for (const e of elements)
    if (e !== 'kamailio' && e !== 'stirgate') throw new Error(`--elements: unknown element ${e}`);
  const rates =
    list(value('rates'))?.map(Number) ??
    (quick ? [1000, 2000, 3000, 4000, 6000] : [1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000]);
  if (rates.some((r) => !Number.isInteger(r) || r <= 0)) throw new Error('--rates: positive integers');
  const stirgateWorkers = Number(value('stirgate-workers') ?? 2);
  if (stirgateWorkers < 1 || stirgateWorkers > 64) throw new Error('--stirgate-workers: 1 to 64');
  return {
    quick,
    writeDoc: !quick && !flag('no-doc'),
    keep: flag('keep'),
    profile: flag('profile'),
    profileAt: value('profile-at') === undefined ? undefined : Number(value('profile-at')),
    phases,
    elements,
    rates,
    stepS: quick ? 5 : 20,
    latencyS: quick ? 4 : 10,
    warmupS: quick ? 2 : 3,
    pauseMs: 500,
    heldCalls: quick ? 2000 : 10_000,
    heldRate: quick ? 500 : 1000,
    budgetS: Number(value('minutes') ?? (quick ? 8 : 23)) * 60,
    kamailioWorkers: Number(value('kamailio-workers') ?? 2),
    kamailioShmMb: Number(value('kamailio-shm') ?? 1024),
    stirgateWorkers,
    traceback: value('traceback') !== 'off',
    stirgateRcvbuf: Number(value('stirgate-rcvbuf') ?? 0),
  };
}

// --- run context ----------------------------------------------------------------------------------------

export interface Context {
  readonly s: Settings;
  readonly tmp: string;
  readonly pki: BenchPki;
  readonly privateKey: KeyObject;
  readonly x5u: string;
  readonly x5uPort: number;
  readonly origid: string;
  readonly started: number;
  /** Times the bench's x5u server answered (each element should fetch once per start). */
  readonly x5uFetches: { count: number };
  /** Direct SIPp-to-SIPp baselines already measured, by `${mode}@${rate}`. */
  readonly direct: Map<string, StepResult>;
}

export const CALLER = '+12025550100';
/** SIP T1: a step whose INVITE->200 p99 reaches it does not pass. */
export const T1_MS = 500;
export const CALLEE = '+12025550199';

export function log(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stdout.write(`[${t}] ${line}\n`);
}

/** Seconds left before `deadline` (seconds since start). */
export function left(ctx: Context, deadlineS: number): number {
  return deadlineS - (Date.now() - ctx.started) / 1000;
}

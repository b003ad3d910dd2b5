import fc from 'fast-check';
import type { FuzzTarget } from './fuzz-target.js';

export interface FuzzCrash {
  readonly target: string;
  /** The smallest failing input fast-check shrank to. */
  readonly input: Uint8Array;
  /** `InvariantBroken: ...` or `TypeError: ...`, with the top of the stack. */
  readonly error: string;
}

export interface RoundResult {
  readonly runs: number;
  readonly crash: FuzzCrash | undefined;
}

/** Called with each input before it runs (the worker copies it where the watchdog can read it). */
export type BeforeRun = (input: Uint8Array) => void;

/**
 * One time-boxed round of one target: fast-check generates inputs until `timeMs` has passed or one fails;
 * a failing input is shrunk to a small one. Every throw out of `target.run` is a crash (fuzz-target.ts).
 */
export function fuzzRound(
  target: FuzzTarget,
  timeMs: number,
  seed: number,
  beforeRun?: BeforeRun,
): RoundResult {
  const details = fc.check(
    fc.property(target.inputs, (input) => {
      beforeRun?.(input);
      target.run(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    }),
    {
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: timeMs,
      seed,
      markInterruptAsFailure: false,
    },
  );
  if (!details.failed || details.counterexample === null) return { runs: details.numRuns, crash: undefined };
  const [input] = details.counterexample;
  return {
    runs: details.numRuns,
    crash: { target: target.name, input, error: describe(details.errorInstance) },
  };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((l) => l.trimStart().startsWith('at '))
    .slice(0, 3);
  return [`${err.name}: ${err.message}`, ...frames.map((f) => f.trim())].join('\n');
}

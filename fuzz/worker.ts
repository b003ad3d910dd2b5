import { parentPort, workerData } from 'node:worker_threads';
import { fuzzRound } from './fuzz-round.js';
import type { FuzzTargetName } from './fuzz-target.js';
import { TARGETS } from './targets.js';
import { type WatchSlots, writeInput } from './watch-slots.js';

export interface WorkerInput {
  readonly targets: readonly FuzzTargetName[];
  readonly roundMs: number;
  readonly seed: number;
  readonly slots: WatchSlots;
}

export type WorkerMessage = {
  readonly type: 'round';
  readonly target: FuzzTargetName;
  readonly runs: number;
  readonly crash?: { readonly input: Uint8Array; readonly error: string };
};

/** The fuzz loop, in its own thread so that fuzz/run.ts can stop it when one input hangs. */
// The yaml package warns (process.emitWarning) on a mapping used as a key, which mutated configurations
// produce by the thousand; the loader's answer is what is checked, so the warnings are not printed.
process.removeAllListeners('warning');
const input = workerData as WorkerInput;
let seed = input.seed;
for (let round = 0; ; round++) {
  const index = round % input.targets.length;
  const name = input.targets[index]!;
  const r = fuzzRound(TARGETS[name], input.roundMs, seed++, (bytes) => writeInput(input.slots, index, bytes));
  const msg: WorkerMessage = {
    type: 'round',
    target: name,
    runs: r.runs,
    ...(r.crash !== undefined ? { crash: { input: r.crash.input, error: r.crash.error } } : {}),
  };
  parentPort!.postMessage(msg);
  // Let the message out before the next synchronous round.
  await new Promise((resolve) => setImmediate(resolve));
}

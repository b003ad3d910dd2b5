/**
 * Shared memory between the fuzz worker and its watchdog: before each input runs, the worker writes the
 * target's index, the input's length and bytes, then bumps a counter. A counter that stops moving for longer
 * than the hang bound means one input is still running; its bytes are right there to keep.
 */
export interface WatchSlots {
  /** [0] inputs started, [1] target index, [2] input length. */
  readonly header: Int32Array;
  readonly bytes: Uint8Array;
}

/** Longest input copied (the targets generate far less). */
const MAX_BYTES = 1 << 20;

export function createWatchSlots(): WatchSlots {
  return {
    header: new Int32Array(new SharedArrayBuffer(3 * 4)),
    bytes: new Uint8Array(new SharedArrayBuffer(MAX_BYTES)),
  };
}

export function writeInput(slots: WatchSlots, target: number, input: Uint8Array): void {
  const n = Math.min(input.length, slots.bytes.length);
  slots.bytes.set(n === input.length ? input : input.subarray(0, n));
  Atomics.store(slots.header, 1, target);
  Atomics.store(slots.header, 2, n);
  Atomics.add(slots.header, 0, 1);
}

export function readInput(slots: WatchSlots): { started: number; target: number; input: Uint8Array } {
  const n = Atomics.load(slots.header, 2);
  return {
    started: Atomics.load(slots.header, 0),
    target: Atomics.load(slots.header, 1),
    input: slots.bytes.slice(0, n),
  };
}

export function startedCount(slots: WatchSlots): number {
  return Atomics.load(slots.header, 0);
}

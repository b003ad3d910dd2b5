import { type BlockIndex, compileBlockIndex } from '../policy/block-index.js';
import type { Controls, LiveValue } from '../policy/controls.js';

/**
 * The block index of the current `Controls`, compiled when the control plane sets a new version
 * (`controls.subscribe`), never on a call. One per `LiveValue` (liveBlockIndex): hook chains rebuilt by a
 * configuration reload share it instead of subscribing again.
 */
export class LiveBlockIndex {
  #current: BlockIndex;

  constructor(controls: LiveValue<Controls>) {
    this.#current = compileBlockIndex(controls.current);
    controls.subscribe((c) => {
      this.#current = compileBlockIndex(c);
    });
  }

  get current(): BlockIndex {
    return this.#current;
  }
}

const shared = new WeakMap<LiveValue<Controls>, LiveBlockIndex>();

/** The index that follows `controls` (made on first use, then shared). */
export function liveBlockIndex(controls: LiveValue<Controls>): LiveBlockIndex {
  let idx = shared.get(controls);
  if (idx === undefined) {
    idx = new LiveBlockIndex(controls);
    shared.set(controls, idx);
  }
  return idx;
}

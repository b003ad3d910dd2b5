import type { Block } from '../policy/controls.js';
import type { HookOutcome } from './invite-hooks.js';

/**
 * What a `mark` block does to a call (docs/operations.md "Customer protections"): the call goes on with
 * `<mark_header>: <block id>;match=<kind>` appended to the B-leg INVITE, for the callee's side to act on.
 * One outcome per block, made on the first call it marks and kept with the block.
 */
export class MarkEdits {
  readonly #header: string;
  readonly #byBlock = new WeakMap<Block, HookOutcome>();

  constructor(header: string) {
    this.#header = header;
  }

  of(block: Block): HookOutcome {
    let out = this.#byBlock.get(block);
    if (out === undefined) {
      out = {
        action: 'continue',
        edits: [{ op: 'append', name: this.#header, value: `${block.id};match=${block.match.kind}` }],
      };
      this.#byBlock.set(block, out);
    }
    return out;
  }
}

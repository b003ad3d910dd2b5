/**
 * What operators change at run time through the admin API (ADMIN-API.md), as the call path sees it: the
 * active blocks and the per-customer limit overrides. The control plane (src/control/) owns them, persists
 * them and every change to the audit log, and hands each new version to every SIP process (in a cluster
 * over IPC); the admission and block hooks read the current version on each new INVITE. Plain data: it
 * crosses process boundaries as JSON.
 */

/** What a block matches (ADMIN-API.md `POST /v1/blocks`): exactly one of these. */
export type BlockMatchKind = 'calling' | 'called' | 'customer' | 'origid' | 'spc' | 'trunk';

export const BLOCK_MATCH_KINDS: readonly BlockMatchKind[] = [
  'calling',
  'called',
  'customer',
  'origid',
  'spc',
  'trunk',
];

/** `reject` refuses the call; `mark` lets it through with the mark header (docs/operations.md). */
export type BlockAction = 'reject' | 'mark';

export interface BlockMatch {
  readonly kind: BlockMatchKind;
  /**
   * `calling` / `called`: canonical E.164 digits without `+` (src/stir/tn.ts), or a prefix of them ending in
   * `*`. `customer` / `trunk`: a configured name. `origid`: a lower-case UUID. `spc`: the signer's SPC.
   */
  readonly value: string;
}

export interface Block {
  /** Stable id, e.g. `b-17`: the API's `/v1/blocks/{id}` and the traceback detail of calls it refused. */
  readonly id: string;
  readonly match: BlockMatch;
  readonly action: BlockAction;
  readonly reason: string;
  readonly ticket: string;
  /** Epoch ms; null: until removed. */
  readonly expires: number | null;
  /** The admin token's name that added it. */
  readonly actor: string;
  /** Epoch ms. */
  readonly created: number;
}

/** A customer's admission limits (issue: customer protections). */
export interface CustomerLimits {
  /** Calls per second (token bucket refill rate). */
  readonly cps: number;
  /** Bucket size: calls accepted at once after a quiet spell. */
  readonly burst: number;
  /** Calls set up or established at the same time. */
  readonly maxConcurrent: number;
}

export interface Controls {
  /** Grows with every change; a process ignores a version older than the one it has. */
  readonly version: number;
  /** Active blocks (not removed; expired ones may still be listed: matchers check `expires`). */
  readonly blocks: readonly Block[];
  /** `PATCH /v1/customers/{name}/limits` values, over the configured ones, by customer name. */
  readonly limitOverrides: Readonly<Record<string, Partial<CustomerLimits>>>;
}

export const EMPTY_CONTROLS: Controls = Object.freeze({
  version: 0,
  blocks: Object.freeze([]) as readonly Block[],
  limitOverrides: Object.freeze({}),
});

/**
 * A value replaced as a whole and read on every call (`current` is a field read). Listeners run after each
 * `set`, synchronously, e.g. to recompile a block index once per change rather than per call.
 */
export class LiveValue<T> {
  #current: T;
  readonly #listeners = new Set<(v: T) => void>();

  constructor(initial: T) {
    this.#current = initial;
  }

  get current(): T {
    return this.#current;
  }

  set(v: T): void {
    this.#current = v;
    for (const l of this.#listeners) l(v);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (v: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

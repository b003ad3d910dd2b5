import type { TracebackCallEvent } from '../events.js';
import type { Logger } from '../log/logger.js';
import type { SipRequest } from '../sip/message/message.js';
import type { Flow } from '../sip/transport/types.js';
import type { LegEdit } from './leg-edits.js';
import type { TrunkRole, TrunkRuntime } from './router.js';

/**
 * Where new capabilities attach to the INVITE path: per trunk role, an ordered chain of hooks that the B2BUA
 * runs once per new call, after validation and trunk matching and before the first B-leg INVITE is built
 * (docs/architecture.md, "The hook chain"). Each hook reads the A-leg INVITE and returns one of:
 *   - continue, with edits for the B-leg INVITE (src/b2bua/leg-edits.ts), which the call keeps and applies
 *     to every B-leg INVITE it builds, the first and each failover's;
 *   - reject: the A-leg gets the status; later hooks do not run.
 * Hooks never touch a request. They may write what they learned into `ctx.facts` for later hooks and for the
 * call's traceback record. A hook that returns a value (not a promise) costs no promise hop: signing and
 * policy decisions are synchronous, only verification waits (for a certificate or the threadpool).
 */
export interface InviteContext {
  readonly trunk: TrunkRuntime;
  /** The A-leg INVITE as received. Read it; never change it. */
  readonly aRequest: SipRequest;
  readonly flow: Flow;
  /** process.hrtime.bigint() when the A-leg INVITE arrived. */
  readonly receivedAt: bigint;
  /** The call's child logger (call number, Call-ID, trunk, role bound), made on first use. */
  readonly log: Logger;
  readonly facts: CallFacts;
  /**
   * Run `fn` once when the call ends, whatever the outcome: refused by this or a later hook, cancelled,
   * failed, or hung up after the answer (e.g. to give back a concurrent-call slot).
   */
  onCallEnd(fn: () => void): void;
}

/** What the signing hook did (ATIS-1000074 §5.2): the PASSporT's claims that name the call's origin. */
export interface SignedFacts {
  readonly attest: 'A' | 'B' | 'C';
  readonly origid: string;
  readonly iat: number;
  /** The PASSporT's compact form (its digest names the call in a traceback record). */
  readonly jws: string;
}

/**
 * What the verification hook found (RFC 8224 §6.2): who signed the call, the next one to ask upstream. The
 * traceback record's `verified` part as it is (src/events.ts).
 */
export type VerifiedFacts = NonNullable<TracebackCallEvent['verified']>;

/** Filled in by the hooks of one call; read by later hooks and by the call's traceback record. */
export interface CallFacts {
  signed?: SignedFacts;
  verified?: VerifiedFacts;
}

/** Why a hook refused a call (the traceback record's `refused.cause`, src/events.ts `RefusalCause`). */
export type HookRejectCause = 'verification' | 'policy' | 'block' | 'limit' | 'destination' | 'dno';

export type HookOutcome =
  | { readonly action: 'continue'; readonly edits?: readonly LegEdit[] }
  | {
      readonly action: 'reject';
      readonly status: number;
      readonly reasonPhrase?: string;
      /** Extra headers on the rejection, e.g. a STIR Reason (RFC 8224 §6.2.2). */
      readonly headers?: readonly (readonly [string, string])[];
      readonly cause: HookRejectCause;
      /** What refused it (`block:b-17`, `limit:cps`...): the record's `refused.detail`; default the hook's name. */
      readonly detail?: string;
    };

export interface InviteHook {
  /** Stable name, in logs and in docs/architecture.md's chain table. */
  readonly name: string;
  onInitialInvite(ctx: InviteContext): HookOutcome | Promise<HookOutcome>;
}

/** The hooks of each trunk role, in the order they run. */
export type HookChains = Partial<Record<TrunkRole, readonly InviteHook[]>>;

export const CONTINUE: HookOutcome = Object.freeze({ action: 'continue' });

export type ChainResult =
  | { readonly action: 'continue'; readonly edits: readonly LegEdit[] }
  | (Extract<HookOutcome, { action: 'reject' }> & { readonly hook: string });

/**
 * Run `hooks` in order. The edits of every hook that continued are concatenated in chain order. Returns
 * synchronously while every hook does; the first promise switches to an async tail. A hook that throws (or
 * whose promise rejects) is a bug: it is logged and the call goes on without that hook's edits, because
 * a call is never dropped silently.
 */
export function runHookChain(
  hooks: readonly InviteHook[],
  ctx: InviteContext,
): ChainResult | Promise<ChainResult> {
  const edits: LegEdit[] = [];
  for (let i = 0; i < hooks.length; i++) {
    const hook = hooks[i]!;
    let out: HookOutcome | Promise<HookOutcome>;
    try {
      out = hook.onInitialInvite(ctx);
    } catch (err) {
      out = hookFailed(hook, ctx, err);
    }
    if (out instanceof Promise) return finishAsync(hooks, i, out, edits, ctx);
    if (out.action === 'reject') return { ...out, hook: hook.name };
    if (out.edits !== undefined) edits.push(...out.edits);
  }
  return { action: 'continue', edits };
}

async function finishAsync(
  hooks: readonly InviteHook[],
  at: number,
  pending: Promise<HookOutcome>,
  edits: LegEdit[],
  ctx: InviteContext,
): Promise<ChainResult> {
  for (let i = at; i < hooks.length; i++) {
    const hook = hooks[i]!;
    let out: HookOutcome;
    try {
      out = i === at ? await pending : await hook.onInitialInvite(ctx);
    } catch (err) {
      out = hookFailed(hook, ctx, err);
    }
    if (out.action === 'reject') return { ...out, hook: hook.name };
    if (out.edits !== undefined) edits.push(...out.edits);
  }
  return { action: 'continue', edits };
}

function hookFailed(hook: InviteHook, ctx: InviteContext, err: unknown): HookOutcome {
  ctx.log.error(
    { err, hook: hook.name, event: 'hook_failed' },
    'invite hook failed; the call goes on without it',
  );
  return CONTINUE;
}

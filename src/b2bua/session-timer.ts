import type { SipMessage, SipRequest, SipResponse } from '../sip/message/message.js';
import type { Call } from './call.js';

/**
 * RFC 4028 session timers, as a B2BUA that polices them. A call whose two ends stopped talking (a BYE lost
 * to drops, a peer that rebooted) otherwise stays up until the maximum call duration:
 *
 *   initial INVITE from A   Session-Expires below min_se_s: 422 with our Min-SE if A supports timers
 *                           (§8.1, §9), else raised to min_se_s on the B-leg (§8.1); none: we ask B for
 *                           session_expires_s (a proxy may insert it, §8.1)
 *   2xx from B              carries Session-Expires: B agreed, its interval and refresher are relayed;
 *                           none but A supports timers: we accept them toward A as its UAS, refresher=uac
 *                           (§9: Session-Expires and Require: timer in the 2xx); neither: no session timer
 *   each refresh            a re-INVITE or UPDATE answered 2xx, either way: the interval starts again (§10),
 *                           from the 2xx's Session-Expires when it has one
 *   no refresh in time      the session expired (§10): BYE both legs with a Reason (src/b2bua/call-reaper.ts)
 *
 * We wait the whole interval, not the interval less min(32 s, interval/3) that §10 gives the side that
 * is not the refresher: the refresher refreshes at half the interval (§7.2), so the whole interval is the
 * most lenient bound that still reaps a call whose refresher went away.
 * GAP(RFC 4028 §7): when neither end supports timers we do not refresh on their behalf (that needs a
 * re-INVITE or UPDATE of our own on each leg); such calls end by `sip.max_call_duration_s`.
 */
export interface SessionTimerConfig {
  readonly enabled: boolean;
  readonly sessionExpiresS: number;
  readonly minSeS: number;
}

/** The session timer in force on a call: its interval, and whether we answered A for B (refresher=uac). */
export interface SessionTimerState {
  intervalS: number;
  /** We accepted session timers toward A on B's behalf: every 2xx relayed to A carries them again. */
  readonly asUas: boolean;
}

export type SessionOffer =
  | { readonly action: 'refuse'; readonly minSe: number }
  | { readonly action: 'forward'; readonly sessionExpires: number | undefined; readonly minSe: number };

/** `delta-seconds *(;param)` of Session-Expires (compact `x`) or Min-SE; undefined when absent or bad. */
export function deltaSeconds(msg: SipMessage, header: 'session-expires' | 'min-se'): number | undefined {
  const raw = msg.get(header);
  if (raw === undefined) return undefined;
  const m = /^\s*(\d{1,9})\s*(?:;|$)/.exec(raw);
  return m === undefined || m === null ? undefined : Number(m[1]);
}

function supportsTimer(msg: SipMessage): boolean {
  for (const v of msg.getAll('supported'))
    for (const tag of v.split(',')) if (tag.trim().toLowerCase() === 'timer') return true;
  return false;
}

/** What the A-leg INVITE's session timer request means for the call (RFC 4028 §8.1, §9). */
export function judgeOffer(a: SipRequest, cfg: SessionTimerConfig): SessionOffer {
  const asked = deltaSeconds(a, 'session-expires');
  // §5: Min-SE only ever goes up along the path; ours is the floor.
  const minSe = Math.max(cfg.minSeS, deltaSeconds(a, 'min-se') ?? 0);
  if (asked === undefined) return { action: 'forward', sessionExpires: undefined, minSe };
  if (asked >= minSe) return { action: 'forward', sessionExpires: asked, minSe };
  // §8.1, §9: 422 only to a UAC that supports the extension (it will retry with Min-SE); otherwise raise it.
  if (supportsTimer(a)) return { action: 'refuse', minSe };
  return { action: 'forward', sessionExpires: minSe, minSe };
}

/** The session timer headers of the B-leg INVITE: raise A's interval or ask for ours (RFC 4028 §8.1). */
export function offerOnBLeg(b: SipRequest, offer: SessionOffer, cfg: SessionTimerConfig): void {
  if (offer.action !== 'forward') return;
  const asked = deltaSeconds(b, 'session-expires');
  if (offer.sessionExpires === undefined) b.set('session-expires', String(cfg.sessionExpiresS));
  else if (asked !== offer.sessionExpires) b.set('session-expires', String(offer.sessionExpires));
  b.set('min-se', String(offer.minSe));
}

/**
 * The session timer of an answered call from B's 2xx, adding §9's headers to the 2xx `out` for A when we
 * accept timers on B's behalf. Undefined: no session timer (neither end supports one).
 */
export function sessionAtAnswer(
  call: Call,
  bOk: SipResponse,
  out: SipResponse,
  cfg: SessionTimerConfig,
): SessionTimerState | undefined {
  const agreed = deltaSeconds(bOk, 'session-expires');
  if (agreed !== undefined) return { intervalS: agreed, asUas: false };
  const a = call.aInvite;
  if (a === undefined || !supportsTimer(a)) return undefined;
  const intervalS = Math.max(deltaSeconds(a, 'session-expires') ?? cfg.sessionExpiresS, cfg.minSeS);
  const state = { intervalS, asUas: true };
  stampForA(out, state);
  return state;
}

/** A refresh's 2xx (RFC 4028 §10): the new interval, and §9's headers again on a 2xx we relay to A. */
export function sessionAtRefresh(
  state: SessionTimerState,
  ok: SipResponse,
  toA: SipResponse | undefined,
): void {
  const next = deltaSeconds(ok, 'session-expires');
  // GAP(RFC 4028 §7.4): a refresh 2xx without Session-Expires turns the timer off between the ends; we keep
  // policing with the last interval, so a call cannot shed the bound by dropping the header.
  if (next !== undefined) state.intervalS = next;
  if (state.asUas && toA !== undefined && next === undefined) stampForA(toA, state);
}

function stampForA(out: SipResponse, state: SessionTimerState): void {
  out.set('session-expires', `${state.intervalS};refresher=uac`);
  out.append('require', 'timer');
}

import type { HookOutcome, HookRejectCause } from './invite-hooks.js';

/**
 * What the caller is answered when an operator control refuses a call: one row per refusal, so a new kind
 * without an answer fails the type check.
 * - A block on an originating trunk, the do-not-originate list, a destination: 403 with a Reason text that
 *   says why (RFC 3326 Reason header with a `text`).
 * - A block on a terminating trunk: 603 Network Blocked with the ATIS-1000099 Reason ("603+"): the
 *   analytics version, the redress contact and the block's id, `location=LN`.
 * - A limit: 503 with Retry-After (RFC 3261 §21.5.4, §20.33): the caller may try again then.
 */
export type PolicyRefusalKind =
  | 'block_originating'
  | 'block_terminating'
  | 'dno'
  | 'destination'
  | 'cps'
  | 'concurrent';

export const POLICY_RESPONSES = {
  block_originating: { status: 403, reasonPhrase: 'Forbidden', cause: 'block' },
  block_terminating: { status: 603, reasonPhrase: 'Network Blocked', cause: 'block' },
  dno: { status: 403, reasonPhrase: 'Forbidden', cause: 'dno' },
  destination: { status: 403, reasonPhrase: 'Forbidden', cause: 'destination' },
  cps: { status: 503, reasonPhrase: 'Service Unavailable', cause: 'limit' },
  concurrent: { status: 503, reasonPhrase: 'Service Unavailable', cause: 'limit' },
} as const satisfies Record<
  PolicyRefusalKind,
  { readonly status: number; readonly reasonPhrase: string; readonly cause: HookRejectCause }
>;

/** The hook's rejection: status and phrase from the table, the traceback detail, the headers. */
export function policyReject(
  kind: PolicyRefusalKind,
  detail: string,
  headers: readonly (readonly [string, string])[],
): HookOutcome {
  const r = POLICY_RESPONSES[kind];
  return {
    action: 'reject',
    status: r.status,
    reasonPhrase: r.reasonPhrase,
    cause: r.cause,
    detail,
    headers,
  };
}

/** RFC 3326 §2: `Reason: SIP;cause=<status>;text="<text>"`. */
export function reasonText(status: number, text: string): readonly [string, string] {
  return ['Reason', `SIP;cause=${status};text="${quotedText(text)}"`];
}

/**
 * ATIS-1000099 "603+": `SIP;cause=603;text="v=analytics1;url=..;tel=..;email=..;id=<block>";location=LN`.
 * `redress` is the precomputed `url=...;tel=...;email=...;` part (redressPart).
 */
export function networkBlockedReason(redress: string, blockId: string): readonly [string, string] {
  return ['Reason', `SIP;cause=603;text="v=analytics1;${redress}id=${quotedText(blockId)}";location=LN`];
}

/** The redress contact (`policy.redress`, validated free of `"`, `\`, `;`) as `key=value;` pairs. */
export function redressPart(redress: { url?: string; tel?: string; email?: string }): string {
  let out = '';
  if (redress.url !== undefined) out += `url=${redress.url};`;
  if (redress.tel !== undefined) out += `tel=${redress.tel};`;
  if (redress.email !== undefined) out += `email=${redress.email};`;
  return out;
}

/** RFC 3261 §25.1 quoted-string content: `"` and `\` escaped, control characters dropped, at most 200. */
export function quotedText(s: string): string {
  const clean = s.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
  return clean.replace(/["\\]/g, (c) => `\\${c}`);
}

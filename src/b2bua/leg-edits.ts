import type { SipRequest } from '../sip/message/message.js';
import type { Verstat } from '../stir/codes.js';
import { markVerstat } from './verstat.js';

/**
 * An edit a hook asks for on the B-leg INVITE. Hooks do not touch the request: they return edits, the call
 * keeps them, and every B-leg INVITE of the call applies them in order (the first one and each failover's),
 * so what the callee sees does not depend on which next hop answered.
 */
export type LegEdit =
  /** Add a header line after the existing ones. */
  | { readonly op: 'append'; readonly name: string; readonly value: string }
  /** Replace every line of a header by one. */
  | { readonly op: 'set'; readonly name: string; readonly value: string }
  /** Remove every line of a header. */
  | { readonly op: 'remove'; readonly name: string }
  /** `verstat` on the calling-number URIs of From and P-Asserted-Identity (3GPP TS 24.229 §7.2A.20). */
  | { readonly op: 'verstat'; readonly verstat: Verstat };

export const NO_EDITS: readonly LegEdit[] = Object.freeze([]);

export function applyLegEdits(req: SipRequest, edits: readonly LegEdit[]): void {
  if (edits.length === 0) return;
  for (const e of edits) {
    switch (e.op) {
      case 'append':
        req.append(e.name, e.value);
        break;
      case 'set':
        req.set(e.name, e.value);
        break;
      case 'remove':
        req.remove(e.name);
        break;
      case 'verstat':
        markVerstat(req, e.verstat);
        break;
    }
  }
  req.invalidate();
}

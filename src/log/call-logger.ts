import type { Logger } from 'pino';

/** Ids bound once on a call's child logger; every line about the call carries them. */
export interface CallLogIds {
  /** The B2BUA's call number (unique per process run). */
  readonly call: number;
  /** A-leg Call-ID as received. */
  readonly callId: string;
  readonly trunk: string;
  readonly role: string;
}

/**
 * One pino child per call: its ids are serialised once, when the child is made, not on every line
 * (pino child bindings), so a disabled level still costs only the level check.
 */
export function callLogger(parent: Logger, ids: CallLogIds): Logger {
  return parent.child({ call: ids.call, callId: ids.callId, trunk: ids.trunk, role: ids.role });
}

/** Add the B-leg Call-ID once it exists (pino `setBindings` appends to the child's bindings). */
export function bindBLeg(log: Logger, bCallId: string): void {
  log.setBindings({ bCallId });
}

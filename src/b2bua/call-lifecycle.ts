/**
 * The call's lifecycle as a table (the form of src/sip/transaction/server-invite.ts): one row per state, one
 * column per event, the cell the next state. An event without a cell does not apply in that state and
 * changes nothing; the caller decides whether that means "ignore" (a late response for an abandoned hop) or
 * something else. Only `advance` assigns a call's state.
 *
 *   routing ─forward─► calling ─provisional─► early ─answer─► answered ─ack─► confirmed ─hangup─► ending ─end─► ended
 *      ▲                 │ │                    │ │              │                                   ▲
 *      └────failover─────┘ └─────answer─────────┼─┘              └──────────────hangup───────────────┘
 *   routing, calling, early ─cancel─► cancelling ─hangup (the callee answered anyway: ACK, BYE)─► ending
 *   calling, early ─hangup (a BYE on an early dialog, RFC 3261 §15)─► ending
 *   every state but ended ─end─► ended
 *
 * routing: trunk matched, hooks running or the next B-leg INVITE being built (RFC 3261 §8.2, §16.6);
 * calling / early: B-leg INVITE out, no / a provisional answer relayed (RFC 3261 §13.2.2.1);
 * answered: 2xx relayed to the caller, waiting for its ACK (RFC 3261 §13.3.1.4);
 * confirmed: both dialogs established;
 * cancelling: the caller CANCELled (RFC 3261 §9.2), waiting for the B-leg to finish;
 * ending: our BYE is out on one or both legs (RFC 3261 §15.1).
 */
export type CallState =
  | 'routing'
  | 'calling'
  | 'early'
  | 'answered'
  | 'confirmed'
  | 'cancelling'
  | 'ending'
  | 'ended';

export type CallEvent =
  | 'forward'
  | 'provisional'
  | 'answer'
  | 'ack'
  | 'failover'
  | 'cancel'
  | 'hangup'
  | 'end';

type Row = Readonly<Partial<Record<CallEvent, CallState>>>;

export const CALL_TRANSITIONS = {
  routing: { forward: 'calling', cancel: 'cancelling', end: 'ended' },
  calling: {
    provisional: 'early',
    answer: 'answered',
    failover: 'routing',
    cancel: 'cancelling',
    hangup: 'ending',
    end: 'ended',
  },
  early: {
    provisional: 'early',
    answer: 'answered',
    failover: 'routing',
    cancel: 'cancelling',
    hangup: 'ending',
    end: 'ended',
  },
  answered: { ack: 'confirmed', hangup: 'ending', end: 'ended' },
  confirmed: { hangup: 'ending', end: 'ended' },
  cancelling: { hangup: 'ending', end: 'ended' },
  ending: { end: 'ended' },
  ended: {},
} as const satisfies Record<CallState, Row>;

/** The state `event` leads to from `state`, or undefined when the event does not apply there. */
export function nextCallState(state: CallState, event: CallEvent): CallState | undefined {
  return (CALL_TRANSITIONS[state] as Row)[event];
}

/** States in which the B-leg INVITE may still fail over to the next hop or be cancelled. */
export function isSettingUp(state: CallState): boolean {
  return state === 'routing' || state === 'calling' || state === 'early';
}

import { describe, expect, it } from 'vitest';
import { CALL_TRANSITIONS, type CallEvent, nextCallState } from '../../../src/b2bua/call-lifecycle.js';

describe('call lifecycle table', () => {
  it('walks the ordinary call: routing -> calling -> early -> answered -> confirmed -> ending -> ended', () => {
    const events: CallEvent[] = ['forward', 'provisional', 'answer', 'ack', 'hangup', 'end'];
    const seen: string[] = [];
    let state: ReturnType<typeof nextCallState> = 'routing';
    for (const e of events) {
      state = nextCallState(state!, e);
      seen.push(String(state));
    }
    expect(seen).toEqual(['calling', 'early', 'answered', 'confirmed', 'ending', 'ended']);
  });

  it('fails over and cancels only while the INVITE is being set up', () => {
    expect(nextCallState('early', 'failover')).toBe('routing');
    expect(nextCallState('answered', 'failover')).toBeUndefined();
    expect(nextCallState('routing', 'cancel')).toBe('cancelling');
    expect(nextCallState('confirmed', 'cancel')).toBeUndefined();
    // The callee answered after CANCEL: ACK and BYE it (RFC 3261 §9.1 race).
    expect(nextCallState('cancelling', 'hangup')).toBe('ending');
    expect(nextCallState('cancelling', 'answer')).toBeUndefined();
  });

  it('ends from every state but ended, and nothing leaves ended', () => {
    for (const [state, row] of Object.entries(CALL_TRANSITIONS)) {
      if (state === 'ended') expect(Object.keys(row)).toEqual([]);
      else expect(nextCallState(state as keyof typeof CALL_TRANSITIONS, 'end')).toBe('ended');
    }
  });
});

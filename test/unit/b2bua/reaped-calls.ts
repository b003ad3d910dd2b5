import { type CallEndCause, type CallEndedEvent, callChannels } from '../../../src/events.js';

/** The causes of the calls that end while `recordEnds` runs (the `stirgate:call:ended` channel). */
export function recordEnds(): { causes: CallEndCause[]; stop(): void } {
  const causes: CallEndCause[] = [];
  const listener = (e: CallEndedEvent) => causes.push(e.cause);
  callChannels.ended.subscribe(listener);
  return { causes, stop: () => callChannels.ended.unsubscribe(listener) };
}

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { sipChannels } from '../../../src/events.js';
import { subscribeLogEvents } from '../../../src/log/log-events.js';
import { createLogger } from '../../../src/log/logger.js';

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

function capture(level: 'warn' | 'error') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

describe('stirgate:sip:send_failure log line', () => {
  it('is a warn line at most once a second per kind of send, reporting what it suppressed', () => {
    const { logger, lines } = capture('warn');
    let now = 5_000_000;
    undo = subscribeLogEvents(logger, () => now);
    for (let i = 0; i < 3; i++) sipChannels.sendFailure.publish({ what: 'ack', code: 'send_failed' });
    sipChannels.sendFailure.publish({ what: 'bye', code: 'connect_failed' });
    expect(lines.map((l) => [l.level, l.event, l.what, l.code])).toEqual([
      ['warn', 'sip:send_failure', 'ack', 'send_failed'],
      ['warn', 'sip:send_failure', 'bye', 'connect_failed'],
    ]);
    now += 999;
    sipChannels.sendFailure.publish({ what: 'ack', code: 'send_failed' });
    expect(lines).toHaveLength(2);
    now += 1;
    sipChannels.sendFailure.publish({ what: 'ack', code: 'connection_closed' });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ what: 'ack', code: 'connection_closed', suppressed: 3 });
  });

  it('is not subscribed when warn is off', () => {
    undo = subscribeLogEvents(capture('error').logger);
    expect(sipChannels.sendFailure.hasSubscribers).toBe(false);
  });
});

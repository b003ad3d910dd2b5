import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Level, Logger } from 'pino';
import type { StirgateEventMap, StirgateEventName } from '../events.js';
import { subscribeSipTrace } from './sip-trace.js';

/** At most this many lines per second per event (unless a rule says otherwise); the rest are counted and
 * reported on the next line. */
const LINES_PER_SECOND = 10;

interface Rule {
  readonly channel: StirgateEventName;
  readonly level: Level;
  readonly msg: string;
  readonly fields: (e: never) => Record<string, unknown>;
  /** Lines per second per `limitKey` (default LINES_PER_SECOND for the whole channel). */
  readonly perSecond?: number;
  /** Rate-limit each value separately; must return one of a small closed set. */
  readonly limitKey?: (e: never) => string;
}

/** A rule whose `fields` (and `limitKey`) are typed by the catalog's payload for `channel`. */
function rule<N extends StirgateEventName>(
  r: Rule & {
    readonly channel: N;
    readonly fields: (e: StirgateEventMap[N]) => Record<string, unknown>;
    readonly limitKey?: (e: StirgateEventMap[N]) => string;
  },
): Rule {
  return r;
}

/**
 * Events of the core that deserve a log line (metrics count them all; these say what happened):
 * handler exceptions (bugs) at error, refused TCP connections, certificate fetch failures and failed sends nobody
 * waits on (at most one line a second per kind of send) at warn,
 * parse errors, socket errors and transaction timeouts at debug, full SIP traces at trace.
 * A channel is subscribed only when its level is enabled at start, so a quiet logger adds no subscriber
 * (and the core then builds no event). Each event is rate-limited so a flood cannot flood the log.
 */
const RULES: readonly Rule[] = [
  rule({
    channel: 'stirgate:transport:handler_error',
    level: 'error',
    msg: 'transport handler threw',
    fields: (e) => ({ err: e.error }),
  }),
  rule({
    channel: 'stirgate:transaction:handler_error',
    level: 'error',
    msg: 'transaction handler threw',
    fields: (e) => ({
      where: e.where,
      err: e.error,
    }),
  }),
  rule({
    channel: 'stirgate:transport:connection_refused',
    level: 'warn',
    msg: 'TCP connection refused',
    fields: (e) => ({
      reason: e.reason,
      remote: `${e.remote.address}:${e.remote.port}`,
    }),
  }),
  rule({
    channel: 'stirgate:stir:cert_cache',
    level: 'warn',
    msg: 'x5u certificate fetch failed',
    // Only fetch failures are worth a line; hits and misses are metrics.
    fields: (e) => (e.kind === 'fetch_error' ? { code: e.code } : SKIP),
  }),
  rule({
    channel: 'stirgate:sip:send_failure',
    level: 'warn',
    msg: 'SIP send failed',
    fields: (e) => ({ what: e.what, code: e.code }),
    perSecond: 1,
    limitKey: (e) => e.what,
  }),
  rule({
    channel: 'stirgate:transport:parse_error',
    level: 'debug',
    msg: 'unparseable SIP message',
    fields: (e) => ({ proto: e.protocol, code: e.code }),
  }),
  rule({
    channel: 'stirgate:transport:socket_error',
    level: 'debug',
    msg: 'socket error',
    fields: (e) => ({
      proto: e.protocol,
      errno: e.errno,
    }),
  }),
  rule({
    channel: 'stirgate:transaction:timeout',
    level: 'debug',
    msg: 'transaction timed out',
    fields: (e) => ({
      side: e.side,
      method: e.method,
      timer: e.timer,
    }),
  }),
];

/** Returned by a rule's `fields` for an event that should not be logged. */
const SKIP: Record<string, unknown> = Object.freeze({});

/** Subscribe the log rules (and SIP traces) for `logger`'s current level; returns the unsubscribe function. */
export function subscribeLogEvents(logger: Logger, now: () => number = Date.now): () => void {
  const undo: (() => void)[] = [subscribeSipTrace(logger)];
  for (const r of RULES) {
    if (!logger.isLevelEnabled(r.level)) continue;
    const fields = r.fields as (e: unknown) => Record<string, unknown>;
    const limitKey = r.limitKey as ((e: unknown) => string) | undefined;
    const perSecond = r.perSecond ?? LINES_PER_SECOND;
    const windows = new Map<string, { start: number; lines: number; suppressed: number }>();
    const onEvent = (message: unknown): void => {
      if (!logger.isLevelEnabled(r.level)) return;
      let key = '';
      let f: Record<string, unknown>;
      try {
        if (limitKey !== undefined) key = limitKey(message);
        f = fields(message);
      } catch {
        return;
      }
      if (f === SKIP) return;
      let w = windows.get(key);
      if (w === undefined) {
        w = { start: 0, lines: 0, suppressed: 0 };
        windows.set(key, w);
      }
      const t = now();
      if (t - w.start >= 1000) {
        w.start = t;
        w.lines = 0;
      }
      if (w.lines >= perSecond) {
        w.suppressed++;
        return;
      }
      w.lines++;
      const line: Record<string, unknown> = { event: r.channel.slice('stirgate:'.length), ...f };
      if (w.suppressed > 0) {
        line.suppressed = w.suppressed;
        w.suppressed = 0;
      }
      logger[r.level](line, r.msg);
    };
    subscribe(r.channel, onEvent);
    undo.push(() => unsubscribe(r.channel, onEvent));
  }
  return () => {
    for (const u of undo) u();
    undo.length = 0;
  };
}

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Level, Logger } from 'pino';
import type { CertCacheEvent } from '../events.js';
import type { TransactionEventMap } from '../sip/transaction/transaction-events.js';
import type { TransportEventMap } from '../sip/transport/transport-events.js';
import { subscribeSipTrace } from './sip-trace.js';

/** At most this many lines per second per event; the rest are counted and reported on the next line. */
const LINES_PER_SECOND = 10;

interface Rule {
  readonly channel: string;
  readonly level: Level;
  readonly msg: string;
  readonly fields: (e: never) => Record<string, unknown>;
}

/**
 * Events of the core that deserve a log line (metrics count them all; these say what happened):
 * handler exceptions (bugs) at error, refused TCP connections and certificate fetch failures at warn,
 * parse errors, socket errors and transaction timeouts at debug, full SIP traces at trace.
 * A channel is subscribed only when its level is enabled at start, so a quiet logger adds no subscriber
 * (and the core then builds no event). Each event is rate-limited so a flood cannot flood the log.
 */
const RULES: readonly Rule[] = [
  {
    channel: 'stirgate:transport:handler_error',
    level: 'error',
    msg: 'transport handler threw',
    fields: (e: TransportEventMap['stirgate:transport:handler_error']) => ({ err: e.error }),
  },
  {
    channel: 'stirgate:transaction:handler_error',
    level: 'error',
    msg: 'transaction handler threw',
    fields: (e: TransactionEventMap['stirgate:transaction:handler_error']) => ({
      where: e.where,
      err: e.error,
    }),
  },
  {
    channel: 'stirgate:transport:connection_refused',
    level: 'warn',
    msg: 'TCP connection refused',
    fields: (e: TransportEventMap['stirgate:transport:connection_refused']) => ({
      reason: e.reason,
      remote: `${e.remote.address}:${e.remote.port}`,
    }),
  },
  {
    channel: 'stirgate:stir:cert_cache',
    level: 'warn',
    msg: 'x5u certificate fetch failed',
    // Only fetch failures are worth a line; hits and misses are metrics.
    fields: (e: CertCacheEvent) => (e.kind === 'fetch_error' ? { code: e.code } : SKIP),
  },
  {
    channel: 'stirgate:transport:parse_error',
    level: 'debug',
    msg: 'unparseable SIP message',
    fields: (e: TransportEventMap['stirgate:transport:parse_error']) => ({ proto: e.protocol, code: e.code }),
  },
  {
    channel: 'stirgate:transport:socket_error',
    level: 'debug',
    msg: 'socket error',
    fields: (e: TransportEventMap['stirgate:transport:socket_error']) => ({
      proto: e.protocol,
      errno: e.errno,
    }),
  },
  {
    channel: 'stirgate:transaction:timeout',
    level: 'debug',
    msg: 'transaction timed out',
    fields: (e: TransactionEventMap['stirgate:transaction:timeout']) => ({
      side: e.side,
      method: e.method,
      timer: e.timer,
    }),
  },
];

/** Returned by a rule's `fields` for an event that should not be logged. */
const SKIP: Record<string, unknown> = Object.freeze({});

/** Subscribe the log rules (and SIP traces) for `logger`'s current level; returns the unsubscribe function. */
export function subscribeLogEvents(logger: Logger, now: () => number = Date.now): () => void {
  const undo: (() => void)[] = [subscribeSipTrace(logger)];
  for (const rule of RULES) {
    if (!logger.isLevelEnabled(rule.level)) continue;
    const fields = rule.fields as (e: unknown) => Record<string, unknown>;
    let windowStart = 0;
    let lines = 0;
    let suppressed = 0;
    const onEvent = (message: unknown): void => {
      if (!logger.isLevelEnabled(rule.level)) return;
      const t = now();
      if (t - windowStart >= 1000) {
        windowStart = t;
        lines = 0;
      }
      if (lines >= LINES_PER_SECOND) {
        suppressed++;
        return;
      }
      let f: Record<string, unknown>;
      try {
        f = fields(message);
      } catch {
        return;
      }
      if (f === SKIP) return;
      lines++;
      const line: Record<string, unknown> = { event: rule.channel.slice('stirgate:'.length), ...f };
      if (suppressed > 0) {
        line.suppressed = suppressed;
        suppressed = 0;
      }
      logger[rule.level](line, rule.msg);
    };
    subscribe(rule.channel, onEvent);
    undo.push(() => unsubscribe(rule.channel, onEvent));
  }
  return () => {
    for (const u of undo) u();
    undo.length = 0;
  };
}

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type {
  AttestationEvent,
  CertCacheEvent,
  ClusterDatagramEvent,
  ClusterReplayEvent,
  SignEvent,
  VerificationDecisionEvent,
  VerifyEvent,
} from '../events.js';
import { snapshotTally, type TallyGroup, tallyRows } from '../sip/message-tally.js';
import {
  TRANSACTION_EVENT_NAMES,
  type TransactionEventMap,
  type TransactionEventName,
} from '../sip/transaction/transaction-events.js';
import {
  TRANSPORT_EVENT_NAMES,
  type TransportEventMap,
  type TransportEventName,
} from '../sip/transport/transport-events.js';
import { VERIFY_CODES } from '../stir/codes.js';
import type { FastCounter } from './fast-metrics.js';
import { attestLabel, callEndCauseLabel, errnoLabel, statusClassLabel } from './labels.js';
import type { StirgateMetrics } from './stirgate-metrics.js';

/** Call lifecycle payloads (src/b2bua/b2bua.ts `callChannels`). */
interface CallEvent {
  readonly trunk: string;
  readonly role: string;
  readonly cause?: string;
  /** `stirgate:call:forwarded` only: INVITE received -> B-leg INVITE sent. */
  readonly durationNs?: number;
}

/** Channels other than the transport and transaction ones (those come from their *_EVENT_NAMES lists). */
export const STIR_AND_CALL_CHANNELS = [
  'stirgate:stir:sign',
  'stirgate:stir:verify',
  'stirgate:stir:cert_cache',
  'stirgate:stir:attestation',
  'stirgate:stir:verification_decision',
  'stirgate:call:started',
  'stirgate:call:forwarded',
  'stirgate:call:ended',
  'stirgate:cluster:datagram',
  'stirgate:cluster:replay_check',
] as const;

/**
 * Channels metrics never subscribe to: a subscriber makes the core build the payload. Full SIP traces
 * (src/log/sip-trace.ts) are for trace-level logs only; messages and transactions are counted by the call
 * path itself (src/sip/message-tally.ts, read at scrape time by `pullTally`), not one event each.
 */
const PULLED = [
  'stirgate:transport:message_in',
  'stirgate:transport:message_out',
  'stirgate:transaction:created',
  'stirgate:transaction:terminated',
] as const;
const NOT_FOR_METRICS: ReadonlySet<string> = new Set(['stirgate:transport:trace', ...PULLED]);
type CountedTransportEvent = Exclude<
  TransportEventName,
  'stirgate:transport:trace' | (typeof PULLED)[number]
>;
type CountedTransactionEvent = Exclude<TransactionEventName, (typeof PULLED)[number]>;

type Handlers = {
  [N in CountedTransportEvent]: (e: TransportEventMap[N]) => void;
} & {
  [N in CountedTransactionEvent]: (e: TransactionEventMap[N]) => void;
} & Record<(typeof STIR_AND_CALL_CHANNELS)[number], (e: never) => void>;

const KNOWN_VERIFY_CODES: ReadonlySet<string> = new Set(VERIFY_CODES);
const NS_PER_S = 1e9;

/**
 * Subscribe the metrics to every Stirgate diagnostics channel. The core publishes only when a channel has
 * subscribers, so metrics cost nothing until this runs. Returns the function that unsubscribes.
 * Channels are process-wide: every element in the process is counted.
 */
export function subscribeMetrics(m: StirgateMetrics): () => void {
  const handlers: Handlers = {
    // --- STIR ---
    'stirgate:stir:sign': (e: SignEvent) => {
      m.signDuration.observe(e.durationNs / NS_PER_S, e.outcome);
      if (e.outcome === 'failed') m.signFailures.inc(e.code ?? 'sign_failed');
    },
    'stirgate:stir:verify': (e: VerifyEvent) => {
      m.verifyDuration.observe(e.durationNs / NS_PER_S, e.cache);
      m.verifications.inc(KNOWN_VERIFY_CODES.has(e.code) ? e.code : 'other', attestLabel(e.attest));
    },
    'stirgate:stir:cert_cache': (e: CertCacheEvent) => {
      if (e.kind === 'fetch_error') m.certFetchErrors.inc(e.code ?? 'cert_fetch_failed');
      else m.certLookups.inc(e.kind);
    },
    'stirgate:stir:attestation': (e: AttestationEvent) => {
      m.attestations.inc(e.trunk, e.attest, e.reason ?? 'none');
    },
    'stirgate:stir:verification_decision': (e: VerificationDecisionEvent) => {
      m.decisions.inc(e.trunk, KNOWN_VERIFY_CODES.has(e.code) ? e.code : 'other', e.action);
    },
    // --- calls ---
    'stirgate:call:started': (e: CallEvent) => {
      m.callsStarted.inc(e.trunk, e.role);
    },
    'stirgate:call:forwarded': (e: CallEvent) => {
      m.callsForwarded.inc(e.trunk, e.role);
      if (e.durationNs !== undefined) m.inviteProcessing.observe(e.durationNs / NS_PER_S, e.role);
    },
    'stirgate:call:ended': (e: CallEvent) => {
      m.callsEnded.inc(e.trunk, e.role, callEndCauseLabel(e.cause));
    },
    // --- cluster ---
    'stirgate:cluster:datagram': (e: ClusterDatagramEvent) => {
      m.clusterDatagrams.inc(e.outcome);
    },
    'stirgate:cluster:replay_check': (e: ClusterReplayEvent) => {
      m.clusterReplayChecks.inc(e.outcome);
    },
    // --- transport ---
    'stirgate:transport:parse_error': (e) => {
      m.parseErrors.inc(e.protocol, e.code);
    },
    'stirgate:transport:keepalive': (e) => {
      m.keepalives.inc(e.protocol, e.answered ? 'true' : 'false');
    },
    'stirgate:transport:connection_open': (e) => {
      m.tcpOpened.inc(e.direction);
    },
    'stirgate:transport:connection_close': (e) => {
      m.tcpClosed.inc(e.reason);
    },
    'stirgate:transport:connection_refused': (e) => {
      m.tcpRefused.inc(e.reason);
    },
    'stirgate:transport:socket_error': (e) => {
      m.socketErrors.inc(e.protocol, errnoLabel(e.errno));
    },
    'stirgate:transport:handler_error': () => {
      m.handlerErrors.inc('transport');
    },
    'stirgate:transport:datagram_dropped': (e) => {
      m.datagramsDropped.inc(e.reason);
    },
    // --- transactions ---
    'stirgate:transaction:retransmit': (e) => {
      m.retransmissions.inc(e.side, e.timer);
    },
    'stirgate:transaction:absorbed': (e) => {
      m.absorbed.inc(e.side, e.what);
    },
    'stirgate:transaction:timeout': (e) => {
      m.timeouts.inc(e.timer);
    },
    'stirgate:transaction:transport_error': (e) => {
      m.transportErrors.inc(e.code);
    },
    'stirgate:transaction:stray_response': (e) => {
      m.strayResponses.inc(statusClassLabel(e.statusClass));
    },
    'stirgate:transaction:stateless_response': (e) => {
      m.statelessResponses.inc(e.why);
    },
    'stirgate:transaction:dropped': (e) => {
      m.dropped.inc(e.why);
    },
    'stirgate:transaction:handler_error': () => {
      m.handlerErrors.inc('transaction');
    },
  };

  const names = [...STIR_AND_CALL_CHANNELS, ...TRANSPORT_EVENT_NAMES, ...TRANSACTION_EVENT_NAMES].filter(
    (n) => !NOT_FOR_METRICS.has(n),
  ) as (keyof Handlers)[];
  const subscribed: [string, (message: unknown) => void][] = [];
  for (const name of names) {
    const handler = handlers[name] as (e: unknown) => void;
    // A metrics bug must never reach the call path that published the event.
    const safe = (message: unknown): void => {
      try {
        handler(message);
      } catch {
        // dropped: counting is best effort
      }
    };
    subscribe(name, safe);
    subscribed.push([name, safe]);
  }
  const unpull = pullTally(m);
  return () => {
    for (const [name, fn] of subscribed) unsubscribe(name, fn);
    subscribed.length = 0;
    unpull();
  };
}

/**
 * The families the call path counts itself (src/sip/message-tally.ts): at each scrape, copy in what was
 * counted since this subscription (the tally is process-wide, like the channels). Returns the undo.
 */
function pullTally(m: StirgateMetrics): () => void {
  const since = snapshotTally();
  const target: Record<TallyGroup, FastCounter<string>> = {
    requests: m.requests,
    responses: m.responses,
    raw_sent: m.rawSent,
    bytes_sent: m.bytesSent,
    tx_created: m.transactions,
    tx_terminated: m.transactionsTerminated,
  };
  const pull = (): void => {
    for (const [group, a, b, c, value] of tallyRows(since)) target[group].set(value, a, b, c);
  };
  const families = Object.values(target);
  for (const f of families) f.beforeCollect = pull;
  return () => {
    for (const f of families) if (f.beforeCollect === pull) f.beforeCollect = undefined;
  };
}

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { StirgateEventMap, StirgateEventName } from '../events.js';
import { snapshotTally, type TallyGroup, tallyRows } from '../sip/message-tally.js';
import { VERIFY_CODES } from '../stir/codes.js';
import type { FastCounter } from './fast-metrics.js';
import {
  attestLabel,
  callEndCauseLabel,
  customerLabel,
  errnoLabel,
  POLICY_REFUSAL_CAUSES,
  SEND_FAILURE_WHATS,
  statusClassLabel,
  TRANSPORT_ERROR_CODES,
} from './labels.js';
import type { StirgateMetrics } from './stirgate-metrics.js';

/**
 * Channels metrics never subscribe to: a subscriber makes the core build the payload. Full SIP traces
 * (src/log/sip-trace.ts) are for trace-level logs only and traceback records for the traceback writer only
 * (both carry numbers and Call-IDs); messages and transactions are counted by the call path itself
 * (src/sip/message-tally.ts, read at scrape time by `pullTally`), not one event each.
 */
type NotForMetrics =
  | 'stirgate:transport:trace'
  | 'stirgate:traceback'
  | 'stirgate:transport:message_in'
  | 'stirgate:transport:message_out'
  | 'stirgate:transaction:created'
  | 'stirgate:transaction:terminated';

/** One handler per counted channel of the catalog: a channel added to src/events.ts without one fails the type check. */
type Handlers = { [N in Exclude<StirgateEventName, NotForMetrics>]: (e: StirgateEventMap[N]) => void };

/**
 * Channels are process-wide and payloads untyped at run time: a value that would become a label is checked
 * against its closed set here, whatever the catalog's type says, so no label can carry a number or a URL.
 */
const KNOWN_VERIFY_CODES: ReadonlySet<string> = new Set(VERIFY_CODES);
const verifyCodeLabel = (code: string): string => (KNOWN_VERIFY_CODES.has(code) ? code : 'other');
const SEND_FAILURES: ReadonlySet<string> = new Set(SEND_FAILURE_WHATS);
const TRANSPORT_ERRORS: ReadonlySet<string> = new Set(TRANSPORT_ERROR_CODES);
const POLICY_CAUSES: ReadonlySet<string> = new Set(POLICY_REFUSAL_CAUSES);
const NS_PER_S = 1e9;

/**
 * Subscribe the metrics to every Stirgate diagnostics channel. The core publishes only when a channel has
 * subscribers, so metrics cost nothing until this runs. Returns the function that unsubscribes.
 * Channels are process-wide: every element in the process is counted.
 */
export function subscribeMetrics(m: StirgateMetrics): () => void {
  const handlers: Handlers = {
    // --- STIR ---
    'stirgate:stir:sign': (e) => {
      m.signDuration.observe(e.durationNs / NS_PER_S, e.outcome);
      if (e.outcome === 'failed') m.signFailures.inc(e.code ?? 'sign_failed');
    },
    'stirgate:stir:verify': (e) => {
      m.verifyDuration.observe(e.durationNs / NS_PER_S, e.cache);
      m.verifications.inc(verifyCodeLabel(e.code), attestLabel(e.attest));
    },
    'stirgate:stir:cert_cache': (e) => {
      if (e.kind === 'fetch_error') m.certFetchErrors.inc(e.code ?? 'cert_fetch_failed');
      else m.certLookups.inc(e.kind);
    },
    'stirgate:stir:attestation': (e) => {
      m.attestations.inc(e.trunk, e.attest, e.reason ?? 'none');
    },
    'stirgate:stir:verification_decision': (e) => {
      m.decisions.inc(e.trunk, verifyCodeLabel(e.code), e.action);
    },
    // --- calls ---
    'stirgate:call:started': (e) => {
      m.callsStarted.inc(e.trunk, e.role);
    },
    'stirgate:call:forwarded': (e) => {
      m.callsForwarded.inc(e.trunk, e.role);
      m.inviteProcessing.observe(e.durationNs / NS_PER_S, e.role);
    },
    'stirgate:call:ended': (e) => {
      m.callsEnded.inc(e.trunk, e.role, callEndCauseLabel(e.cause));
    },
    // --- operator controls ---
    'stirgate:policy:refusal': (e) => {
      m.policyRefusals.inc(customerLabel(e.customer), POLICY_CAUSES.has(e.cause) ? e.cause : 'other');
    },
    'stirgate:policy:emergency': (e) => {
      m.emergencyPasses.inc(customerLabel(e.customer));
    },
    'stirgate:sip:send_failure': (e) => {
      m.sendFailures.inc(
        SEND_FAILURES.has(e.what) ? e.what : 'other',
        TRANSPORT_ERRORS.has(e.code) ? e.code : 'other',
      );
    },
    // --- cluster ---
    'stirgate:cluster:datagram': (e) => {
      m.clusterDatagrams.inc(e.outcome);
    },
    'stirgate:cluster:replay_check': (e) => {
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

  const subscribed: [string, (message: unknown) => void][] = [];
  for (const name of Object.keys(handlers) as (keyof Handlers)[]) {
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

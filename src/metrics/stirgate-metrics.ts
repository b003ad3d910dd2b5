import { Gauge, type Registry } from 'prom-client';
import { STATUS_CLASS_LABELS } from '../sip/message-tally.js';
import { VERIFY_CODES } from '../stir/codes.js';
import { INVITE_BUCKETS, SIGN_BUCKETS, VERIFY_BUCKETS } from './buckets.js';
import { FastCounter, FastHistogram } from './fast-metrics.js';
import {
  ATTESTATIONS,
  CACHE_LOOKUP_RESULTS,
  CALL_END_CAUSES,
  CERT_FAILURE_CODES,
  PARSE_ERROR_CODES,
  POLICY_REFUSAL_CAUSES,
  PROTOCOLS,
  SEND_FAILURE_WHATS,
  SIGN_FAILURE_CODES,
  TIMEOUT_TIMERS,
  TRANSPORT_ERROR_CODES,
  TRUNK_ROLES,
  type TrunkLabel,
  UNSIGNED_REASONS,
} from './labels.js';
import { createOverloadMetrics, type OverloadMetricsStats } from './overload-metrics.js';

/** What the element reports on each scrape (Stirgate.stats() in src/app.ts, plus the optional cache size). */
export interface MetricsStats {
  readonly calls: number;
  readonly dialogs: number;
  readonly clientTransactions: number;
  readonly serverTransactions: number;
  readonly tcpConnections: number;
  /** Certificates held by the verification cache; the gauge exists only when the first sample has it. */
  readonly certCacheEntries?: number;
  /** Overload control (src/metrics/overload-metrics.ts). */
  readonly overload?: OverloadMetricsStats;
}

export interface StirgateMetricsOptions {
  readonly stats: () => MetricsStats;
  readonly version: string;
  /** The configured trunks (`trunkLabels(config)`): per-trunk series start at zero for each. */
  readonly trunks: readonly TrunkLabel[];
  /** The configured customer names: the policy series start at zero for each (and for "", no customer). */
  readonly customers?: readonly string[];
}

/** Methods of a call, whose request counts start at zero (others appear on first use). */
const CALL_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL'] as const;
const DIRECTIONS = ['in', 'out'] as const;

/**
 * Every Stirgate series (docs/metrics.md lists each, with labels and meaning). Counters whose labels are
 * small closed unions start at zero for every value, so `rate()` and dashboards see them before the first
 * event (Prometheus "avoid missing metrics"); so do the per-trunk ones, for each configured trunk of the role
 * they concern, so that every series the Grafana dashboard reads exists on an element of any role
 * (test/unit/metrics/known-series.test.ts). A family whose role no configured trunk has starts with one
 * `trunk=""` series instead (Prometheus reads an empty label as absent). Event-driven families are FastCounter/FastHistogram (label
 * values passed positionally, in labelNames order); scrape-time gauges are prom-client Gauges.
 */
export function createStirgateMetrics(registry: Registry, opts: StirgateMetricsOptions) {
  const registers = [registry];
  const stats = opts.stats;
  /** Names of the configured trunks of `role` (any role when undefined), or `['']` when there is none. */
  const trunksOf = (role?: TrunkLabel['role']): readonly TrunkLabel[] => {
    const list = opts.trunks.filter((t) => role === undefined || t.role === role);
    return list.length > 0 ? list : [{ name: '', role: role ?? 'passthrough' }];
  };

  const buildInfo = new Gauge({
    name: 'stirgate_build_info',
    help: 'Always 1; the version label names the running build.',
    labelNames: ['version'] as const,
    registers,
    aggregator: 'max', // cluster mode: one series, not one per worker summed
  });
  buildInfo.set({ version: opts.version }, 1);

  // --- calls (B2BUA) ---------------------------------------------------------------------------------------
  const callsStarted = new FastCounter(registry, {
    name: 'stirgate_calls_started_total',
    help: 'Initial INVITEs accepted as a call (after trunk match, before routing), by trunk and role.',
    labelNames: ['trunk', 'role'] as const,
  });
  const callsForwarded = new FastCounter(registry, {
    name: 'stirgate_calls_forwarded_total',
    help: 'Calls whose B-leg INVITE was sent (after signing or verification), by trunk and role.',
    labelNames: ['trunk', 'role'] as const,
  });
  const callsEnded = new FastCounter(registry, {
    name: 'stirgate_calls_ended_total',
    help: 'Calls ended, by trunk, role and cause.',
    labelNames: ['trunk', 'role', 'cause'] as const,
  });
  const inviteProcessing = new FastHistogram(registry, {
    name: 'stirgate_invite_processing_seconds',
    help: 'Time from receiving an initial INVITE to sending the B-leg INVITE (includes signing/verification), by role.',
    labelNames: ['role'] as const,
    buckets: INVITE_BUCKETS,
  });
  for (const t of trunksOf()) {
    callsStarted.add(0, t.name, t.role);
    callsForwarded.add(0, t.name, t.role);
    for (const cause of CALL_END_CAUSES) callsEnded.add(0, t.name, t.role, cause);
  }
  for (const role of TRUNK_ROLES) inviteProcessing.zero(role);
  new Gauge({
    name: 'stirgate_calls_active',
    help: 'Calls in progress (routing, ringing or answered).',
    registers,
    collect() {
      this.set(stats().calls);
    },
  });
  createOverloadMetrics(registry, () => stats().overload);
  new Gauge({
    name: 'stirgate_dialogs_active',
    help: 'SIP dialogs held by the B2BUA (one per leg).',
    registers,
    collect() {
      this.set(stats().dialogs);
    },
  });

  // --- STIR: signing (authentication service) --------------------------------------------------------------
  const signDuration = new FastHistogram(registry, {
    name: 'stirgate_stir_sign_duration_seconds',
    help: 'Signing core duration: PASSporT build and ES256 signature, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: SIGN_BUCKETS,
  });
  signDuration.zero('signed');
  signDuration.zero('failed');
  const signFailures = new FastCounter(registry, {
    name: 'stirgate_stir_sign_failures_total',
    help: 'Signing attempts that produced no Identity header, by code.',
    labelNames: ['code'] as const,
  });
  for (const code of SIGN_FAILURE_CODES) signFailures.add(0, code);
  const attestations = new FastCounter(registry, {
    name: 'stirgate_stir_attestations_total',
    help: 'Attestation decided for calls from originating trunks (A, B, C or unsigned), by trunk and reason.',
    labelNames: ['trunk', 'attest', 'reason'] as const,
  });
  for (const t of trunksOf('originating')) {
    for (const attest of ATTESTATIONS) attestations.add(0, t.name, attest, 'none');
    for (const reason of UNSIGNED_REASONS) attestations.add(0, t.name, 'unsigned', reason);
  }

  // --- STIR: verification service --------------------------------------------------------------------------
  const verifyDuration = new FastHistogram(registry, {
    name: 'stirgate_stir_verify_duration_seconds',
    help: 'Verification duration, by certificate cache result (hit, miss = waited on a fetch, none = no lookup).',
    labelNames: ['cache'] as const,
    buckets: VERIFY_BUCKETS,
  });
  for (const cache of ['hit', 'miss', 'none']) verifyDuration.zero(cache);
  const verifications = new FastCounter(registry, {
    name: 'stirgate_stir_verifications_total',
    help: 'Verification outcomes by code (passed or the failure) and the attest of the PASSporT.',
    labelNames: ['code', 'attest'] as const,
  });
  // Every code without an attest (no PASSporT read, or not trusted), and `passed` at each level; other
  // (code, attest) pairs appear on first use.
  for (const code of VERIFY_CODES) verifications.add(0, code, 'none');
  for (const attest of ATTESTATIONS) verifications.add(0, 'passed', attest);
  const decisions = new FastCounter(registry, {
    name: 'stirgate_stir_verification_decisions_total',
    help: 'What the trunk policy did with a verification result (continue or reject), by trunk and code.',
    labelNames: ['trunk', 'code', 'action'] as const,
  });
  // One series per terminating trunk; (code, action) pairs beyond `passed`/`continue` appear on first use.
  for (const t of trunksOf('terminating')) decisions.add(0, t.name, 'passed', 'continue');
  const certLookups = new FastCounter(registry, {
    name: 'stirgate_stir_cert_cache_lookups_total',
    help: 'Certificate cache lookups by result: hit, stale (served while refreshing), negative_hit, miss.',
    labelNames: ['result'] as const,
  });
  for (const result of CACHE_LOOKUP_RESULTS) certLookups.add(0, result);
  const certFetchErrors = new FastCounter(registry, {
    name: 'stirgate_stir_cert_fetch_errors_total',
    help: 'x5u certificate fetches that failed, by code.',
    labelNames: ['code'] as const,
  });
  for (const code of CERT_FAILURE_CODES) certFetchErrors.add(0, code);
  if (stats().certCacheEntries !== undefined) {
    new Gauge({
      name: 'stirgate_stir_cert_cache_entries',
      help: 'Certificates (and cached failures) held by the verification cache.',
      registers,
      collect() {
        this.set(stats().certCacheEntries ?? 0);
      },
    });
  }

  // --- SIP transport ---------------------------------------------------------------------------------------
  const requests = new FastCounter(registry, {
    name: 'stirgate_sip_requests_total',
    help: 'SIP requests received (in) and sent (out), by transport and method.',
    labelNames: ['direction', 'protocol', 'method'] as const,
  });
  const responses = new FastCounter(registry, {
    name: 'stirgate_sip_responses_total',
    help: 'SIP responses received (in) and sent (out), by transport and status class.',
    labelNames: ['direction', 'protocol', 'status_class'] as const,
  });
  for (const direction of DIRECTIONS)
    for (const protocol of PROTOCOLS) {
      for (const method of CALL_METHODS) requests.add(0, direction, protocol, method);
      for (const statusClass of STATUS_CLASS_LABELS) responses.add(0, direction, protocol, statusClass);
    }
  const rawSent = new FastCounter(registry, {
    name: 'stirgate_sip_raw_messages_sent_total',
    help: 'Pre-serialised messages sent again unchanged (retransmissions), by transport.',
    labelNames: ['protocol'] as const,
  });
  const bytesSent = new FastCounter(registry, {
    name: 'stirgate_sip_sent_bytes_total',
    help: 'Bytes of SIP messages sent, by transport.',
    labelNames: ['protocol'] as const,
  });
  const parseErrors = new FastCounter(registry, {
    name: 'stirgate_sip_parse_errors_total',
    help: 'Inbound messages the parser refused, by transport and parse error code.',
    labelNames: ['protocol', 'code'] as const,
  });
  for (const protocol of PROTOCOLS) for (const code of PARSE_ERROR_CODES) parseErrors.add(0, protocol, code);
  const keepalives = new FastCounter(registry, {
    name: 'stirgate_sip_keepalives_total',
    help: 'CRLF keep-alives received (RFC 5626 §3.5.1), by transport and whether we answered.',
    labelNames: ['protocol', 'answered'] as const,
  });
  const datagramsDropped = new FastCounter(registry, {
    name: 'stirgate_sip_datagrams_dropped_total',
    help: 'UDP datagrams that were not SIP (STUN, junk), by reason.',
    labelNames: ['reason'] as const,
  });
  const socketErrors = new FastCounter(registry, {
    name: 'stirgate_sip_socket_errors_total',
    help: 'Socket errors caught by the transport, by transport and Node error code (others folded).',
    labelNames: ['protocol', 'errno'] as const,
  });
  const tcpOpened = new FastCounter(registry, {
    name: 'stirgate_sip_tcp_connections_opened_total',
    help: 'TCP connections opened, by direction.',
    labelNames: ['direction'] as const,
  });
  const tcpClosed = new FastCounter(registry, {
    name: 'stirgate_sip_tcp_connections_closed_total',
    help: 'TCP connections closed, by reason.',
    labelNames: ['reason'] as const,
  });
  const tcpRefused = new FastCounter(registry, {
    name: 'stirgate_sip_tcp_connections_refused_total',
    help: 'Inbound TCP connections refused (connection limit, shutting down), by reason.',
    labelNames: ['reason'] as const,
  });
  new Gauge({
    name: 'stirgate_sip_tcp_connections_active',
    help: 'Open TCP connections.',
    registers,
    collect() {
      this.set(stats().tcpConnections);
    },
  });
  const handlerErrors = new FastCounter(registry, {
    name: 'stirgate_handler_errors_total',
    help: 'Exceptions thrown by a handler and caught by the layer that called it (a bug), by layer.',
    labelNames: ['layer'] as const,
  });
  handlerErrors.add(0, 'transport');
  handlerErrors.add(0, 'transaction');
  const sendFailures = new FastCounter(registry, {
    name: 'stirgate_sip_send_failures_total',
    help: 'Sends nobody waits on (the ACK of a 2xx, ...) that failed in the transport, by what and transport error code.',
    labelNames: ['what', 'code'] as const,
  });
  for (const what of SEND_FAILURE_WHATS)
    for (const code of TRANSPORT_ERROR_CODES) sendFailures.add(0, what, code);

  // --- SIP transactions (RFC 3261 §17) ---------------------------------------------------------------------
  const transactions = new FastCounter(registry, {
    name: 'stirgate_sip_transactions_total',
    help: 'Transactions created, by side (client/server) and method.',
    labelNames: ['side', 'method'] as const,
  });
  const transactionsTerminated = new FastCounter(registry, {
    name: 'stirgate_sip_transactions_terminated_total',
    help: 'Transactions terminated, by side and cause (normal, timeout, transport_error, closed).',
    labelNames: ['side', 'cause'] as const,
  });
  const transactionsActive = new Gauge({
    name: 'stirgate_sip_transactions_active',
    help: 'Live transactions, by side.',
    labelNames: ['side'] as const,
    registers,
    collect() {
      const s = stats();
      transactionsActive.set({ side: 'client' }, s.clientTransactions);
      transactionsActive.set({ side: 'server' }, s.serverTransactions);
    },
  });
  const retransmissions = new FastCounter(registry, {
    name: 'stirgate_sip_retransmissions_total',
    help: 'Retransmissions we sent, by side and reason (timer A/E/G, 2xx, request_retransmission, ack).',
    labelNames: ['side', 'timer'] as const,
  });
  const absorbed = new FastCounter(registry, {
    name: 'stirgate_sip_retransmissions_absorbed_total',
    help: 'Retransmissions from peers absorbed by a transaction, by side and what was retransmitted.',
    labelNames: ['side', 'what'] as const,
  });
  const timeouts = new FastCounter(registry, {
    name: 'stirgate_sip_transaction_timeouts_total',
    help: 'Transaction timeouts, by timer (B, F, H, cancel, ack, guard).',
    labelNames: ['timer'] as const,
  });
  for (const timer of TIMEOUT_TIMERS) timeouts.add(0, timer);
  const transportErrors = new FastCounter(registry, {
    name: 'stirgate_sip_transaction_transport_errors_total',
    help: 'Transactions failed by the transport (RFC 3261 §17.1.4), by code.',
    labelNames: ['code'] as const,
  });
  for (const code of TRANSPORT_ERROR_CODES) transportErrors.add(0, code);
  const strayResponses = new FastCounter(registry, {
    name: 'stirgate_sip_stray_responses_total',
    help: 'Responses that matched no client transaction, by status class.',
    labelNames: ['status_class'] as const,
  });
  const statelessResponses = new FastCounter(registry, {
    name: 'stirgate_sip_stateless_responses_total',
    help: 'Responses sent outside any transaction (to requests the parser refused), by reason.',
    labelNames: ['why'] as const,
  });
  const dropped = new FastCounter(registry, {
    name: 'stirgate_sip_dropped_total',
    help: 'Inbound messages dropped without an answer, by reason.',
    labelNames: ['why'] as const,
  });

  // --- operator controls (src/b2bua/admission-hook.ts, block-hook.ts) --------------------------------------
  const policyRefusals = new FastCounter(registry, {
    name: 'stirgate_policy_refusals_total',
    help: 'Calls refused by an operator control, by customer ("" for trunks without one) and cause (block, dno, destination, cps, concurrent).',
    labelNames: ['customer', 'cause'] as const,
  });
  const emergencyPasses = new FastCounter(registry, {
    name: 'stirgate_policy_emergency_calls_total',
    help: 'Calls to an emergency number that passed every block and limit unchecked, by customer.',
    labelNames: ['customer'] as const,
  });
  for (const customer of ['', ...(opts.customers ?? [])]) {
    for (const cause of POLICY_REFUSAL_CAUSES) policyRefusals.add(0, customer, cause);
    emergencyPasses.add(0, customer);
  }

  // --- cluster mode (src/cluster/) --------------------------------------------------------------------------
  const clusterDatagrams = new FastCounter(registry, {
    name: 'stirgate_cluster_datagrams_total',
    help: 'Cluster mode: UDP datagrams handed between workers (forwarded to the owner of their Call-ID, received from the reader) or dropped on the way, by outcome.',
    labelNames: ['outcome'] as const,
  });
  for (const o of ['forwarded', 'received', 'owner_unavailable', 'rejected', 'too_large'])
    clusterDatagrams.add(0, o);
  const clusterReplayChecks = new FastCounter(registry, {
    name: 'stirgate_cluster_replay_checks_total',
    help: 'Cluster mode, replay detection shared between workers, by outcome: ask_primary checks answered or timed out (treated as not seen); broadcast keys shared with the other workers or not (no primary), and late_replay: a PASSporT used in two workers before its key reached the second.',
    labelNames: ['outcome'] as const,
  });
  for (const outcome of ['answered', 'timeout', 'shared', 'unshared', 'late_replay'] as const)
    clusterReplayChecks.add(0, outcome);

  return {
    policyRefusals,
    emergencyPasses,
    clusterDatagrams,
    clusterReplayChecks,
    callsStarted,
    callsForwarded,
    callsEnded,
    inviteProcessing,
    signDuration,
    signFailures,
    attestations,
    verifyDuration,
    verifications,
    decisions,
    certLookups,
    certFetchErrors,
    requests,
    responses,
    rawSent,
    bytesSent,
    parseErrors,
    keepalives,
    datagramsDropped,
    socketErrors,
    tcpOpened,
    tcpClosed,
    tcpRefused,
    handlerErrors,
    sendFailures,
    transactions,
    transactionsTerminated,
    retransmissions,
    absorbed,
    timeouts,
    transportErrors,
    strayResponses,
    statelessResponses,
    dropped,
  };
}

export type StirgateMetrics = ReturnType<typeof createStirgateMetrics>;

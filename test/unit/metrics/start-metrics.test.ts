import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
import { type MetricsEndpoint, type MetricsStats, startMetrics } from '../../../src/metrics/start-metrics.js';
import {
  tallyRequest,
  tallyResponse,
  tallySent,
  tallyTransactionCreated,
  tallyTransactionTerminated,
} from '../../../src/sip/message-tally.js';

const silent = createLogger({ level: 'silent' });

let stats: MetricsStats = {
  calls: 3,
  dialogs: 6,
  clientTransactions: 4,
  serverTransactions: 5,
  tcpConnections: 2,
  certCacheEntries: 7,
};
let endpoint: MetricsEndpoint | undefined;

async function start(s: () => MetricsStats = () => stats): Promise<MetricsEndpoint> {
  endpoint = await startMetrics({
    listen: { address: '127.0.0.1', port: 0 },
    stats: s,
    logger: silent,
    version: '9.9.9',
  });
  return endpoint;
}

afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

async function scrape(m: MetricsEndpoint): Promise<string> {
  const res = await fetch(m.url);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line `name{labels} value` (labels in prom-client's order), or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function publish(name: string, data: unknown): void {
  channel(name).publish(data);
}

describe('startMetrics HTTP endpoint', () => {
  it('serves /metrics in the Prometheus text format, /healthz, and refuses the rest', async () => {
    const m = await start();
    expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(m.url);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await res.text();
    expect(body).toContain('# TYPE stirgate_stir_sign_duration_seconds histogram');
    expect(sample(body, 'stirgate_build_info{version="9.9.9"}')).toBe(1);

    const base = m.url.replace(/\/metrics$/, '');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(m.url, { method: 'POST' })).status).toBe(405);
    const head = await fetch(m.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('reads the stats function on every scrape for the active gauges', async () => {
    const m = await start();
    let body = await scrape(m);
    expect(sample(body, 'stirgate_calls_active')).toBe(3);
    expect(sample(body, 'stirgate_dialogs_active')).toBe(6);
    expect(sample(body, 'stirgate_sip_transactions_active{side="client"}')).toBe(4);
    expect(sample(body, 'stirgate_sip_transactions_active{side="server"}')).toBe(5);
    expect(sample(body, 'stirgate_sip_tcp_connections_active')).toBe(2);
    expect(sample(body, 'stirgate_stir_cert_cache_entries')).toBe(7);
    stats = { ...stats, calls: 11, dialogs: 22 };
    body = await scrape(m);
    expect(sample(body, 'stirgate_calls_active')).toBe(11);
    expect(sample(body, 'stirgate_dialogs_active')).toBe(22);
  });

  it('omits the certificate cache gauge when the element reports no cache', async () => {
    const m = await start(() => ({
      calls: 0,
      dialogs: 0,
      clientTransactions: 0,
      serverTransactions: 0,
      tcpConnections: 0,
    }));
    const body = await scrape(m);
    expect(body).not.toContain('stirgate_stir_cert_cache_entries');
  });

  it('includes the default process metrics and event-loop lag', async () => {
    const body = await scrape(await start());
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(body).toContain(`# TYPE ${name} `);
    }
  });

  it('reports event-loop lag as the whole 10 ms timer interval, which the dashboard subtracts', async () => {
    // grafana/dashboards/stirgate.json "Event-loop lag" shows these series minus 0.01 s. If prom-client ever
    // reports the lateness alone, an idle loop's minimum falls to ~0 and this fails: drop the subtraction.
    const m = await start();
    await scrape(m); // resets the histogram
    await new Promise((r) => setTimeout(r, 300));
    const body = await scrape(m);
    const min = Number(/^nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(body)?.[1]);
    expect(min).toBeGreaterThanOrEqual(0.008);
    expect(min).toBeLessThan(1);
  });

  it('fails to start on a port already in use, and unsubscribes', async () => {
    const first = await start();
    const port = Number(new URL(first.url).port);
    await expect(
      startMetrics({ listen: { address: '127.0.0.1', port }, stats: () => stats, logger: silent }),
    ).rejects.toThrow(/EADDRINUSE/);
    await first.close();
    endpoint = undefined;
    expect(channel('stirgate:stir:sign').hasSubscribers).toBe(false);
  });

  it('stops publishing cost after close: no channel keeps a subscriber', async () => {
    const m = await start();
    expect(channel('stirgate:stir:sign').hasSubscribers).toBe(true);
    expect(channel('stirgate:transport:parse_error').hasSubscribers).toBe(true);
    expect(channel('stirgate:transaction:retransmit').hasSubscribers).toBe(true);
    // Full SIP traces are built only for trace-level logs, never for metrics; messages and transactions are
    // counted by the call path (src/sip/message-tally.ts), so the metrics take no event per message.
    for (const name of [
      'stirgate:transport:trace',
      'stirgate:transport:message_in',
      'stirgate:transport:message_out',
      'stirgate:transaction:created',
      'stirgate:transaction:terminated',
    ]) {
      expect(channel(name).hasSubscribers, name).toBe(false);
    }
    await m.close();
    endpoint = undefined;
    for (const name of [
      'stirgate:stir:sign',
      'stirgate:transport:parse_error',
      'stirgate:transaction:retransmit',
      'stirgate:call:forwarded',
    ]) {
      expect(channel(name).hasSubscribers, name).toBe(false);
    }
    await m.close(); // idempotent
  });
});

describe('metrics from events', () => {
  it('signing core: histogram with fine buckets, failures by code', async () => {
    const m = await start();
    publish('stirgate:stir:sign', { durationNs: 45_000, outcome: 'signed', attest: 'A' });
    publish('stirgate:stir:sign', { durationNs: 180_000, outcome: 'signed', attest: 'B' });
    publish('stirgate:stir:sign', {
      durationNs: 5_000,
      outcome: 'failed',
      attest: undefined,
      code: 'no_calling_number',
    });
    const body = await scrape(m);
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_bucket{le="0.00001",outcome="signed"}')).toBe(0);
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_bucket{le="0.00005",outcome="signed"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_bucket{le="0.0002",outcome="signed"}')).toBe(2);
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_bucket{le="0.05",outcome="signed"}')).toBe(2);
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_count{outcome="signed"}')).toBe(2);
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_sum{outcome="signed"}')).toBeCloseTo(
      0.000225,
      9,
    );
    expect(sample(body, 'stirgate_stir_sign_duration_seconds_count{outcome="failed"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_sign_failures_total{code="no_calling_number"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_sign_failures_total{code="sign_failed"}')).toBe(0);
    const buckets = body
      .split('\n')
      .filter(
        (l) => l.startsWith('stirgate_stir_sign_duration_seconds_bucket{') && l.includes('outcome="signed"'),
      );
    expect(buckets).toHaveLength(29); // 28 bounds from 10 µs to 50 ms, and +Inf
  });

  it('verification: duration by cache, outcomes by code and attest (unknown codes folded)', async () => {
    const m = await start();
    publish('stirgate:stir:verify', { durationNs: 90_000, code: 'passed', cache: 'hit', attest: 'A' });
    publish('stirgate:stir:verify', { durationNs: 12_000_000, code: 'passed', cache: 'miss', attest: 'A' });
    publish('stirgate:stir:verify', {
      durationNs: 3_000,
      code: 'no_identity',
      cache: 'none',
      attest: undefined,
    });
    publish('stirgate:stir:verify', { durationNs: 3_000, code: 'made-up', cache: 'none', attest: 'Z' });
    publish('stirgate:stir:verification_decision', {
      trunk: 'partner',
      code: 'no_identity',
      action: 'reject',
    });
    const body = await scrape(m);
    expect(sample(body, 'stirgate_stir_verify_duration_seconds_count{cache="hit"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_verify_duration_seconds_count{cache="miss"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_verify_duration_seconds_count{cache="none"}')).toBe(2);
    expect(sample(body, 'stirgate_stir_verifications_total{code="passed",attest="A"}')).toBe(2);
    expect(sample(body, 'stirgate_stir_verifications_total{code="no_identity",attest="none"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_verifications_total{code="other",attest="none"}')).toBe(1);
    expect(
      sample(
        body,
        'stirgate_stir_verification_decisions_total{trunk="partner",code="no_identity",action="reject"}',
      ),
    ).toBe(1);
  });

  it('certificate cache: lookups by result, fetch errors by code, all starting at zero', async () => {
    const m = await start();
    let body = await scrape(m);
    for (const result of ['hit', 'negative_hit', 'stale', 'miss']) {
      expect(sample(body, `stirgate_stir_cert_cache_lookups_total{result="${result}"}`)).toBe(0);
    }
    publish('stirgate:stir:cert_cache', { kind: 'miss' });
    publish('stirgate:stir:cert_cache', { kind: 'hit' });
    publish('stirgate:stir:cert_cache', { kind: 'hit' });
    publish('stirgate:stir:cert_cache', { kind: 'stale' });
    publish('stirgate:stir:cert_cache', { kind: 'fetch_error', code: 'cert_untrusted' });
    body = await scrape(m);
    expect(sample(body, 'stirgate_stir_cert_cache_lookups_total{result="hit"}')).toBe(2);
    expect(sample(body, 'stirgate_stir_cert_cache_lookups_total{result="miss"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_cert_cache_lookups_total{result="stale"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_cert_fetch_errors_total{code="cert_untrusted"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_cert_fetch_errors_total{code="cert_expired"}')).toBe(0);
  });

  it('calls: started/forwarded/ended by trunk and role, INVITE processing time, attestation', async () => {
    const m = await start();
    publish('stirgate:call:started', { trunk: 'pbx', role: 'originating' });
    publish('stirgate:call:forwarded', { trunk: 'pbx', role: 'originating', durationNs: 400_000, hop: 0 });
    publish('stirgate:call:ended', { trunk: 'pbx', role: 'originating', cause: 'bye' });
    publish('stirgate:call:ended', { trunk: 'pbx', role: 'originating', cause: 'something new' });
    publish('stirgate:stir:attestation', { trunk: 'pbx', attest: 'A' });
    publish('stirgate:stir:attestation', { trunk: 'pbx', attest: 'unsigned', reason: 'no_calling_number' });
    const body = await scrape(m);
    expect(sample(body, 'stirgate_calls_started_total{trunk="pbx",role="originating"}')).toBe(1);
    expect(sample(body, 'stirgate_calls_forwarded_total{trunk="pbx",role="originating"}')).toBe(1);
    expect(sample(body, 'stirgate_calls_ended_total{trunk="pbx",role="originating",cause="bye"}')).toBe(1);
    expect(sample(body, 'stirgate_calls_ended_total{trunk="pbx",role="originating",cause="other"}')).toBe(1);
    expect(sample(body, 'stirgate_invite_processing_seconds_bucket{le="0.0003",role="originating"}')).toBe(0);
    expect(sample(body, 'stirgate_invite_processing_seconds_bucket{le="0.0005",role="originating"}')).toBe(1);
    expect(sample(body, 'stirgate_stir_attestations_total{trunk="pbx",attest="A",reason="none"}')).toBe(1);
    expect(
      sample(
        body,
        'stirgate_stir_attestations_total{trunk="pbx",attest="unsigned",reason="no_calling_number"}',
      ),
    ).toBe(1);
  });

  it('SIP messages by direction, method (folded) and status class; parse errors; bytes', async () => {
    tallyRequest('in', 'udp', 'INVITE'); // before this registry started: not counted by it
    const m = await start();
    tallyRequest('in', 'udp', 'INVITE');
    tallyRequest('in', 'udp', 'XYZZY');
    tallyResponse('out', 'tcp', 200);
    tallySent('tcp', 300, false);
    tallySent('udp', 200, true);
    tallyResponse('in', 'udp', 999);
    publish('stirgate:transport:parse_error', { protocol: 'udp', code: 'bad_via' });
    const body = await scrape(m);
    expect(sample(body, 'stirgate_sip_requests_total{direction="in",protocol="udp",method="INVITE"}')).toBe(
      1,
    );
    expect(sample(body, 'stirgate_sip_requests_total{direction="in",protocol="udp",method="other"}')).toBe(1);
    expect(body).not.toContain('XYZZY');
    expect(
      sample(body, 'stirgate_sip_responses_total{direction="out",protocol="tcp",status_class="2xx"}'),
    ).toBe(1);
    expect(
      sample(body, 'stirgate_sip_responses_total{direction="in",protocol="udp",status_class="other"}'),
    ).toBe(1);
    expect(sample(body, 'stirgate_sip_raw_messages_sent_total{protocol="udp"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_sent_bytes_total{protocol="tcp"}')).toBe(300);
    expect(sample(body, 'stirgate_sip_sent_bytes_total{protocol="udp"}')).toBe(200);
    expect(sample(body, 'stirgate_sip_parse_errors_total{protocol="udp",code="bad_via"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_parse_errors_total{protocol="tcp",code="too_large"}')).toBe(0);
  });

  it('transport connections, socket errors (errno folded), handler errors', async () => {
    const m = await start();
    const remote = { address: '127.0.0.1', port: 5060 };
    publish('stirgate:transport:connection_open', { id: 1, direction: 'inbound', remote });
    publish('stirgate:transport:connection_close', { id: 1, direction: 'inbound', remote, reason: 'idle' });
    publish('stirgate:transport:connection_refused', { remote, reason: 'limit' });
    publish('stirgate:transport:socket_error', { protocol: 'tcp', errno: 'ECONNRESET' });
    publish('stirgate:transport:socket_error', { protocol: 'tcp', errno: 'EWEIRD' });
    publish('stirgate:transport:keepalive', { protocol: 'tcp', answered: true });
    publish('stirgate:transport:datagram_dropped', { reason: 'stun' });
    publish('stirgate:transport:handler_error', { error: new Error('x') });
    const body = await scrape(m);
    expect(sample(body, 'stirgate_sip_tcp_connections_opened_total{direction="inbound"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_tcp_connections_closed_total{reason="idle"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_tcp_connections_refused_total{reason="limit"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_socket_errors_total{protocol="tcp",errno="ECONNRESET"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_socket_errors_total{protocol="tcp",errno="other"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_keepalives_total{protocol="tcp",answered="true"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_datagrams_dropped_total{reason="stun"}')).toBe(1);
    expect(sample(body, 'stirgate_handler_errors_total{layer="transport"}')).toBe(1);
    expect(sample(body, 'stirgate_handler_errors_total{layer="transaction"}')).toBe(0);
  });

  it('transactions: created, terminated, retransmissions, timeouts, stray/stateless/dropped', async () => {
    const m = await start();
    const tx = { side: 'client', method: 'INVITE', protocol: 'udp' };
    tallyTransactionCreated('client', 'INVITE');
    tallyTransactionCreated('server', 'FOO');
    tallyTransactionTerminated('client', 'timeout');
    publish('stirgate:transaction:retransmit', { ...tx, timer: 'A' });
    publish('stirgate:transaction:absorbed', { ...tx, side: 'server', what: 'request' });
    publish('stirgate:transaction:timeout', { ...tx, timer: 'B' });
    publish('stirgate:transaction:transport_error', { ...tx, code: 'send_failed' });
    publish('stirgate:transaction:stray_response', { method: 'INVITE', statusClass: '2xx' });
    publish('stirgate:transaction:stateless_response', { status: 400, why: 'parse_error' });
    publish('stirgate:transaction:dropped', { why: 'ack_without_tu' });
    publish('stirgate:transaction:handler_error', { where: 'onRequest', error: new Error('x') });
    const body = await scrape(m);
    expect(sample(body, 'stirgate_sip_transactions_total{side="client",method="INVITE"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_transactions_total{side="server",method="other"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_transactions_terminated_total{side="client",cause="timeout"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_retransmissions_total{side="client",timer="A"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_retransmissions_absorbed_total{side="server",what="request"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_transaction_timeouts_total{timer="B"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_transaction_timeouts_total{timer="H"}')).toBe(0);
    expect(sample(body, 'stirgate_sip_transaction_transport_errors_total{code="send_failed"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_stray_responses_total{status_class="2xx"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_stateless_responses_total{why="parse_error"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_dropped_total{why="ack_without_tu"}')).toBe(1);
    expect(sample(body, 'stirgate_handler_errors_total{layer="transaction"}')).toBe(1);
  });

  it('counts sends nobody waits on that failed, by what and transport code, from zero', async () => {
    const m = await start();
    let body = await scrape(m);
    expect(sample(body, 'stirgate_sip_send_failures_total{what="ack",code="send_failed"}')).toBe(0);
    expect(sample(body, 'stirgate_sip_send_failures_total{what="request",code="no_listener"}')).toBe(0);
    publish('stirgate:sip:send_failure', { what: 'ack', code: 'send_failed' });
    publish('stirgate:sip:send_failure', { what: 'ack', code: 'send_failed' });
    publish('stirgate:sip:send_failure', { what: 'bye', code: 'connect_timeout' });
    publish('stirgate:sip:send_failure', { what: 'sip:evil.example', code: 'EWHATEVER' });
    body = await scrape(m);
    expect(sample(body, 'stirgate_sip_send_failures_total{what="ack",code="send_failed"}')).toBe(2);
    expect(sample(body, 'stirgate_sip_send_failures_total{what="bye",code="connect_timeout"}')).toBe(1);
    expect(sample(body, 'stirgate_sip_send_failures_total{what="other",code="other"}')).toBe(1);
    expect(body).not.toContain('evil.example');
  });

  it('a malformed event never throws into the publisher', async () => {
    await start();
    expect(() => publish('stirgate:stir:sign', null)).not.toThrow();
    expect(() => publish('stirgate:transport:message_out', undefined)).not.toThrow();
    expect(() => publish('stirgate:call:forwarded', 42)).not.toThrow();
  });

  it('no label carries a number, a Call-ID or a URL', async () => {
    const m = await start();
    publish('stirgate:transport:message_in', { protocol: 'udp', kind: 'request', method: '+12025550100' });
    publish('stirgate:stir:verify', {
      durationNs: 1,
      code: 'http://evil.example/x',
      cache: 'none',
      attest: '12025550100',
    });
    const body = await scrape(m);
    expect(body).not.toContain('12025550100');
    expect(body).not.toContain('evil.example');
  });
});

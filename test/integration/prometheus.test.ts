// A real Prometheus (Debian package `prometheus`) scrapes Stirgate every second while SIPp drives calls
// through two chained elements: SIPp UAC -> Stirgate signing (originating trunk) -> Stirgate verifying
// (terminating trunk, x5u fetched over http from the signer's dev x5u server) -> SIPp UAS. Then every PromQL
// expression of grafana/dashboards/stirgate.json is evaluated through Prometheus's HTTP API: a panel query
// that returns no finite value fails the test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { type MetricsEndpoint, startMetrics } from '../../src/metrics/start-metrics.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippServer, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';
import { dashboardExpressions, loadDashboard, substituteGrafanaVariables } from '../unit/metrics/support.js';

const PROMETHEUS = whichPrometheus();
const RUNNABLE = PROMETHEUS !== undefined && sippAvailable();
if (!RUNNABLE) {
  console.warn(
    '\n!!! SKIPPING test/integration/prometheus.test.ts: needs `prometheus` and `sipp` on PATH (apt-get install prometheus sip-tester)\n',
  );
}

const CALLS = 20;
const RATE = 10;
/** The whole file stays under a minute; each wait below has its own, smaller bound. */
const FILE_BUDGET_MS = 60_000;
/** Prometheus is SIGKILLed after this even if afterAll never runs. */
const PROMETHEUS_LIFETIME_MS = FILE_BUDGET_MS + 10_000;

function whichPrometheus(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

function signerYaml(verifierPort: number): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
  - name: customer-pbx
    role: originating
    match: { sources: [127.0.0.2/32] }
    route: to-verifier
routes:
  - name: to-verifier
    next_hops: [{ address: 127.0.0.1, port: ${verifierPort}, transport: udp }]
customers:
  - name: demo
    trunks: [customer-pbx]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: "{data_dir}"
metrics: { listen: "" }
admin: { listen: "" }
`;
}

function verifierYaml(uasPort: number, x5uPort: number, rootsDir: string): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
  - name: interconnect
    role: terminating
    match: { sources: [127.0.0.1/32] }
    route: to-uas
    verification: { on_failure: mark, require_identity: false }
routes:
  - name: to-uas
    next_hops: [{ address: 127.0.0.1, port: ${uasPort}, transport: udp }]
stir:
  verification:
    trust_roots_dir: "${rootsDir}"
    # The dev x5u server is plain http on loopback: allowed here explicitly, never by default.
    x5u: { allow_http: true, allowed_ports: [${x5uPort}], allow_cidrs: [127.0.0.1/32] }
data_dir: "{data_dir}"
metrics: { listen: "" }
admin: { listen: "" }
`;
}

interface PromVector {
  readonly status: string;
  readonly error?: string;
  readonly data?: {
    readonly resultType: string;
    readonly result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

class Prometheus {
  readonly #child: ChildProcess;
  readonly #killTimer: NodeJS.Timeout;
  readonly base: string;
  stderr = '';

  constructor(binary: string, args: string[], base: string) {
    this.base = base;
    this.#child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.stderr.length < 32_000) this.stderr += chunk;
    });
    this.#killTimer = setTimeout(() => this.#child.kill('SIGKILL'), PROMETHEUS_LIFETIME_MS);
    this.#killTimer.unref();
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  async ready(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.exited) throw new Error(`prometheus exited early:\n${this.stderr}`);
      try {
        const res = await fetch(`${this.base}/-/ready`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready within ${ms} ms:\n${this.stderr}`);
      await sleep(100);
    }
  }

  async query(expr: string): Promise<PromVector> {
    const res = await fetch(`${this.base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as PromVector;
  }

  /** The first sample's value of an instant query, or undefined when it returns nothing. */
  async scalar(expr: string): Promise<number | undefined> {
    const r = await this.query(expr);
    const v = r.data?.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#killTimer);
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGTERM');
    const hard = setTimeout(() => this.#child.kill('SIGKILL'), 3_000);
    await done;
    clearTimeout(hard);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sumStats(a: Element, b: Element) {
  return () => {
    const x = a.app.stats();
    const y = b.app.stats();
    return {
      calls: x.calls + y.calls,
      dialogs: x.dialogs + y.dialogs,
      clientTransactions: x.clientTransactions + y.clientTransactions,
      serverTransactions: x.serverTransactions + y.serverTransactions,
      tcpConnections: x.tcpConnections + y.tcpConnections,
    };
  };
}

describe.skipIf(!RUNNABLE)('real Prometheus scraping Stirgate under SIPp traffic', () => {
  let uas: SippServer | undefined;
  let signer: Element | undefined;
  let verifier: Element | undefined;
  let metrics: MetricsEndpoint | undefined;
  let prom: Prometheus | undefined;
  const temps: string[] = [];

  beforeAll(async () => {
    uas = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 40,
    });
    await uas.ready;
    const verifierPort = await freePort('both');
    signer = await startElement(signerYaml(verifierPort), { port: await freePort('both') });
    const x5uPort = Number(new URL(signer.app.x5u!).port);
    // The verifier trusts the signer's dev STI-CA only (not its own): a directory holding just ca.pem.
    const rootsDir = await mkdtemp(join(tmpdir(), 'stirgate-roots-'));
    temps.push(rootsDir);
    await copyFile(join(signer.dataDir, 'pki', 'ca.pem'), join(rootsDir, 'ca.pem'));
    verifier = await startElement(verifierYaml(uas.port, x5uPort, rootsDir), { port: verifierPort });

    // One endpoint observes both elements: diagnostics channels are process-wide, the role label tells them apart.
    metrics = await startMetrics({
      listen: { address: '127.0.0.1', port: 0 },
      stats: sumStats(signer, verifier),
      logger: createLogger({ level: 'silent' }),
    });

    const promDir = await mkdtemp(join(tmpdir(), 'stirgate-prom-'));
    temps.push(promDir);
    const target = new URL(metrics.url).host;
    await writeFile(
      join(promDir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: stirgate\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const promPort = await freePort('tcp');
    prom = new Prometheus(
      PROMETHEUS!,
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      `http://127.0.0.1:${promPort}`,
    );
    await prom.ready(15_000);
    // At least one scrape of the idle element before traffic, so counters have a baseline.
    const deadline = Date.now() + 10_000;
    while ((await prom.scalar('up{job="stirgate"}')) !== 1) {
      if (Date.now() > deadline) throw new Error(`prometheus never scraped ${metrics.url}:\n${prom.stderr}`);
      await sleep(200);
    }
  }, 30_000);

  afterAll(async () => {
    await prom?.stop();
    await metrics?.close();
    await uas?.stop();
    await verifier?.stop();
    await signer?.stop();
    for (const d of temps) await rm(d, { recursive: true, force: true });
  });

  it('answers every dashboard query with data after signed and verified calls', async () => {
    const p = prom!;
    const uac = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${signer!.port}`,
      transport: 'u1',
      calls: CALLS,
      rate: RATE,
      timeoutS: 20,
    });
    expect(uac.successful, `SIPp UAC: ${uac.stderr}\n${uac.errorLog ?? ''}`).toBe(CALLS);
    expect((await uas!.result).successful).toBe(CALLS);

    // A datagram that is not SIP: one real parse error, so the errors panel reads live data too.
    await new Promise<void>((resolve, reject) => {
      const s = createSocket('udp4');
      s.send(Buffer.from('NOT SIP AT ALL\r\n\r\n'), signer!.port, '127.0.0.1', (err) => {
        s.close();
        if (err) reject(err);
        else resolve();
      });
    });

    // Wait until Prometheus has scraped the end of the traffic and the parse error (sent after it) twice.
    const settled = Date.now() + 15_000;
    for (;;) {
      const ended = await p.scalar('sum(stirgate_calls_ended_total)');
      const parse = await p.scalar('count_over_time(stirgate_sip_parse_errors_total{protocol="udp"}[1m])');
      if (ended === 2 * CALLS && (parse ?? 0) >= 2) break;
      if (Date.now() > settled) {
        throw new Error(`prometheus did not see the traffic: ended=${ended} parse=${parse}\n${p.stderr}`);
      }
      await sleep(250);
    }

    // The numbers behind the panels are the traffic we drove.
    expect(await p.scalar('sum(stirgate_calls_started_total{role="originating"})')).toBe(CALLS);
    expect(await p.scalar('sum(stirgate_calls_started_total{role="terminating"})')).toBe(CALLS);
    expect(await p.scalar('sum(stirgate_stir_attestations_total{attest="A"})')).toBe(CALLS);
    expect(await p.scalar('sum(stirgate_stir_sign_duration_seconds_count{outcome="signed"})')).toBe(CALLS);
    expect(await p.scalar('sum(stirgate_stir_verifications_total{code="passed", attest="A"})')).toBe(CALLS);
    expect(await p.scalar('sum(stirgate_stir_cert_cache_lookups_total{result="miss"})')).toBe(1);
    expect(await p.scalar('sum(stirgate_stir_cert_cache_lookups_total{result="hit"})')).toBe(CALLS - 1);
    expect(await p.scalar('sum(stirgate_sip_parse_errors_total{protocol="udp"})')).toBe(1);
    expect(await p.scalar('sum(stirgate_calls_ended_total{cause="bye"})')).toBe(2 * CALLS);
    // Zero-initialised series make a first error show as a rate, not as a series appearing at 1.
    expect(await p.scalar('sum(rate(stirgate_sip_parse_errors_total[1m]))')).toBeGreaterThan(0);

    // Every dashboard expression returns at least one finite value.
    const exprs = dashboardExpressions(await loadDashboard());
    expect(exprs.length).toBeGreaterThan(20);
    const empty: string[] = [];
    for (const { where, expr } of exprs) {
      const r = await p.query(substituteGrafanaVariables(expr));
      if (r.status !== 'success') {
        empty.push(`${where}: ${expr}\n    -> ${r.error}`);
        continue;
      }
      const values = (r.data?.result ?? []).map((s) => Number(s.value[1]));
      if (!values.some((v) => Number.isFinite(v))) {
        empty.push(
          `${where}: ${expr}\n    -> ${values.length === 0 ? 'no series' : `only ${values.join(', ')}`}`,
        );
      }
    }
    expect(empty, `dashboard queries without data:\n  ${empty.join('\n  ')}`).toEqual([]);
  }, 30_000);
});

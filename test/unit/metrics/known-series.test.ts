// Every series the Grafana dashboard reads exists, at zero, before the first call on an element of any role:
// a signing-only element must still serve stirgate_stir_verifications_total, a verifying-only one
// stirgate_stir_attestations_total, so that panels read 0 and not "No data".
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log/logger.js';
import { startMetrics, trunkLabels } from '../../../src/metrics/start-metrics.js';
import { dashboardExpressions, loadDashboard, seriesNames } from './support.js';

const ROUTE = 'routes: [{ name: next, next_hops: [{ address: 127.0.0.1, port: 5099 }] }]';

/** One element configuration per role, each with nothing but that role. */
const ELEMENTS: Record<string, string> = {
  'signing-only': `
trunks: [{ name: cust, role: originating, match: { sources: [192.0.2.0/24] }, route: next }]
${ROUTE}
customers: [{ name: acme, trunks: [cust], numbers: ["1202555*"] }]
`,
  'verifying-only': `
trunks: [{ name: carrier, role: terminating, match: { sources: [198.51.100.7] }, route: next }]
${ROUTE}
`,
  'passthrough-only': `
trunks: []
unmatched_source: { action: passthrough, route: next }
${ROUTE}
`,
};

/** Sample lines of `name` (`name{...} value` or `name value`) in an exposition. */
function samples(body: string, name: string): { line: string; value: number }[] {
  const out: { line: string; value: number }[] = [];
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    out.push({ line, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

/** Series that are not per-call counts: build info, live gauges, the process' own metrics. */
const NOT_COUNTS = /^(stirgate_build_info|stirgate_.*_active|nodejs_|process_)/;

describe('series the dashboard reads, on an element of each role', async () => {
  const names = new Set(dashboardExpressions(await loadDashboard()).flatMap((e) => seriesNames(e.expr)));

  it.each(Object.keys(ELEMENTS))('%s: every one is served, the counts at zero', async (role) => {
    expect(names.size).toBeGreaterThan(20);
    const config = parseConfig(
      `${ELEMENTS[role]}\nmetrics: { listen: "" }\nadmin: { listen: "" }\n`,
      `${role}.yaml`,
    );
    const metrics = await startMetrics({
      listen: { address: '127.0.0.1', port: 0 },
      stats: () => ({
        calls: 0,
        dialogs: 0,
        clientTransactions: 0,
        serverTransactions: 0,
        tcpConnections: 0,
      }),
      logger: createLogger({ level: 'silent' }),
      trunks: trunkLabels(config),
    });
    try {
      const body = await (await fetch(metrics.url)).text();
      const missing: string[] = [];
      const notZero: string[] = [];
      for (const name of names) {
        const found = samples(body, name);
        if (found.length === 0) missing.push(name);
        if (!NOT_COUNTS.test(name)) for (const s of found) if (s.value !== 0) notZero.push(s.line);
      }
      expect(missing, `${role}: read by the dashboard but not served`).toEqual([]);
      expect(notZero).toEqual([]);
    } finally {
      await metrics.close();
    }
  });

  it('labels per-trunk series with the configured trunks, and `trunk=""` for a role no trunk has', async () => {
    const config = parseConfig(
      `${ELEMENTS['verifying-only']}\nmetrics: { listen: "" }\nadmin: { listen: "" }\n`,
      'v.yaml',
    );
    const metrics = await startMetrics({
      listen: { address: '127.0.0.1', port: 0 },
      stats: () => ({
        calls: 0,
        dialogs: 0,
        clientTransactions: 0,
        serverTransactions: 0,
        tcpConnections: 0,
      }),
      logger: createLogger({ level: 'silent' }),
      trunks: trunkLabels(config),
    });
    try {
      const body = await (await fetch(metrics.url)).text();
      expect(samples(body, 'stirgate_calls_started_total').map((s) => s.line)).toEqual([
        'stirgate_calls_started_total{trunk="carrier",role="terminating"} 0',
      ]);
      expect(samples(body, 'stirgate_stir_verification_decisions_total').map((s) => s.line)).toEqual([
        'stirgate_stir_verification_decisions_total{trunk="carrier",code="passed",action="continue"} 0',
      ]);
      const attestations = samples(body, 'stirgate_stir_attestations_total').map((s) => s.line);
      expect(attestations).toContain('stirgate_stir_attestations_total{trunk="",attest="A",reason="none"} 0');
      expect(attestations.every((l) => l.includes('trunk=""'))).toBe(true);
    } finally {
      await metrics.close();
    }
  });
});

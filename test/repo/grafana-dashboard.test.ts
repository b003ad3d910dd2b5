// Static checks of grafana/: the dashboard reads only documented series, through the provisioned datasource,
// and has the panels the operators need. (test/integration/prometheus.test.ts proves each query returns data.)
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  dashboardExpressions,
  documentedSeries,
  loadDashboard,
  seriesNames,
} from '../unit/metrics/support.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; datasource?: { uid?: string }; refId: string }[];
  panels?: Panel[];
}

async function readYaml(path: string): Promise<unknown> {
  return parse(await readFile(new URL(`../../${path}`, import.meta.url), 'utf8')) as unknown;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('seriesNames', () => {
  it('finds the metrics of an expression and nothing else', () => {
    expect(
      seriesNames(
        'histogram_quantile(0.99, sum by (le, role) (rate(stirgate_x_bucket{instance=~"$instance", a="b{c}"}[$__rate_interval])))',
      ),
    ).toEqual(['stirgate_x_bucket']);
    expect(seriesNames('sum(rate(a_total[1m])) / sum(rate(b_total{x="y"}[1m])) * 100')).toEqual([
      'a_total',
      'b_total',
    ]);
    expect(seriesNames('max by (instance) (nodejs_eventloop_lag_p99_seconds)')).toEqual([
      'nodejs_eventloop_lag_p99_seconds',
    ]);
    expect(seriesNames('group by (instance) (stirgate_build_info)')).toEqual(['stirgate_build_info']);
  });
});

describe('grafana/dashboards/stirgate.json', () => {
  it('reads only series listed in docs/metrics.md', async () => {
    const documented = await documentedSeries();
    const exprs = dashboardExpressions(await loadDashboard());
    expect(exprs.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const { where, expr } of exprs) {
      const names = seriesNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        const ok =
          (documented.has(name) && !/_bucket$/.test(name)) ||
          (documented.get(family) === 'histogram' && family !== name);
        if (!ok) unknown.push(`${where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('has the operator panels, each querying through the provisioned Prometheus datasource', async () => {
    const dashboard = (await loadDashboard()) as { uid: string; panels: Panel[] };
    const datasources = (await readYaml('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string; type: string }[];
    };
    const uid = datasources.datasources[0]!.uid;
    expect(datasources.datasources[0]!.type).toBe('prometheus');
    const panels = allPanels(dashboard.panels);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = panels.filter((p) => p.type !== 'row');
    for (const p of graphs) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? uid, p.title).toBe(uid);
    }
    const text = JSON.stringify(graphs.map((p) => [p.title, p.targets?.map((t) => t.expr)]));
    // The list: calls/s by role and attestation, signing core p50/p95/p99, verification latency by
    // cache, outcomes by code, cache hit ratio, active dialogs, responses by class, event-loop lag, errors.
    for (const needle of [
      'sum by (role) (rate(stirgate_calls_started_total',
      'sum by (attest) (rate(stirgate_stir_attestations_total',
      'histogram_quantile(0.5, sum by (le) (rate(stirgate_stir_sign_duration_seconds_bucket',
      'histogram_quantile(0.95, sum by (le) (rate(stirgate_stir_sign_duration_seconds_bucket',
      'histogram_quantile(0.99, sum by (le) (rate(stirgate_stir_sign_duration_seconds_bucket',
      'sum by (le, cache) (rate(stirgate_stir_verify_duration_seconds_bucket',
      'sum by (code) (rate(stirgate_stir_verifications_total',
      'Certificate cache hit ratio',
      'stirgate_dialogs_active',
      'sum by (direction, status_class) (rate(stirgate_sip_responses_total',
      'nodejs_eventloop_lag_p99_seconds',
      'Errors/s',
      'stirgate_invite_processing_seconds_bucket',
    ]) {
      expect(text, needle).toContain(needle);
    }
  });

  it('is loaded by the provisioned dashboard provider from the folder docker-compose mounts', async () => {
    const provider = (await readYaml('grafana/provisioning/dashboards/stirgate.yml')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const compose = (await readYaml('docker-compose.yml')) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const mounts = compose.services.grafana?.volumes ?? [];
    expect(mounts).toContain(`./grafana/dashboards:${provider.providers[0]!.options.path}:ro`);
    expect(mounts).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
  });
});

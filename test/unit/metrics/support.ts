// Helpers for the metrics tests: docs/metrics.md as data, and the Grafana dashboard's PromQL (unit tests
// check it statically; test/integration/prometheus.test.ts evaluates it on a real Prometheus).
import { readFile } from 'node:fs/promises';

export const DASHBOARD_URL = new URL('../../../grafana/dashboards/stirgate.json', import.meta.url);

export async function loadDashboard(): Promise<unknown> {
  return JSON.parse(await readFile(DASHBOARD_URL, 'utf8')) as unknown;
}

/**
 * Every `expr` in a Grafana dashboard (panels and panels nested in rows), plus each `label_values(metric,
 * label)` template variable rewritten as the PromQL Grafana runs for it.
 */
export function dashboardExpressions(dashboard: unknown): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => {
        walk(n, `${where}[${i}]`);
      });
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    const here = typeof o.title === 'string' ? `${where} "${o.title}"` : where;
    if (typeof o.expr === 'string') out.push({ where: here, expr: o.expr });
    for (const [k, v] of Object.entries(o)) walk(v, `${here}.${k}`);
  };
  const d = dashboard as { panels?: unknown; templating?: { list?: { name: string; query?: unknown }[] } };
  walk(d.panels, 'panels');
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const m = q === undefined ? null : /^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$/.exec(q);
    if (m) out.push({ where: `variable $${v.name}`, expr: `group by (${m[2]}) (${m[1]})` });
    else out.push({ where: `variable $${v.name}`, expr: q ?? '' });
  }
  return out;
}

/** Grafana macros and variables as a user with "All" instances selected gets them. */
export function substituteGrafanaVariables(expr: string, rateInterval = '1m'): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replaceAll('$instance', '.*');
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or ranges. */
export function seriesNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)) {
    if (!PROMQL_KEYWORDS.has(m[1]!)) names.add(m[1]!);
  }
  return [...names];
}

/**
 * `name -> type` from the series tables of docs/metrics.md (rows whose first cell is a back-quoted name), by
 * the header of their first column: `Series` (every element) or `Primary series` (cluster primary only).
 */
export async function documentedSeries(header = 'Series'): Promise<Map<string, string>> {
  const text = await readFile(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  const out = new Map<string, string>();
  let inSeriesTable = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inSeriesTable = false;
      continue;
    }
    const cells = line.split('|').map((c) => c.trim());
    if (cells[1] === header) {
      inSeriesTable = true;
      continue;
    }
    const m = /^`([a-z_:][a-z0-9_:]*)`$/.exec(cells[1] ?? '');
    if (inSeriesTable && m) {
      if (out.has(m[1]!)) throw new Error(`docs/metrics.md lists ${m[1]} twice`);
      out.set(m[1]!, cells[2] ?? '');
    }
  }
  return out;
}

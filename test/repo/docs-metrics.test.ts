// docs/metrics.md must list exactly the metric families /metrics serves, with the same types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { type MetricsEndpoint, startMetrics } from '../../src/metrics/start-metrics.js';
import { documentedSeries } from '../unit/metrics/support.js';

describe('docs/metrics.md', () => {
  let endpoint: MetricsEndpoint;
  beforeAll(async () => {
    endpoint = await startMetrics({
      listen: { address: '127.0.0.1', port: 0 },
      // A verifying element: every optional family is present.
      stats: () => ({
        calls: 0,
        dialogs: 0,
        clientTransactions: 0,
        serverTransactions: 0,
        tcpConnections: 0,
        certCacheEntries: 0,
      }),
      logger: createLogger({ level: 'silent' }),
    });
  });
  afterAll(() => endpoint.close());

  it('lists every family /metrics serves, with its type, and nothing else', async () => {
    const body = await (await fetch(endpoint.url)).text();
    const served = new Map<string, string>();
    for (const m of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) served.set(m[1]!, m[2]!);
    const documented = await documentedSeries();
    expect(served.size).toBeGreaterThan(60);
    const missing = [...served.keys()].filter((n) => !documented.has(n));
    const extra = [...documented.keys()].filter((n) => !served.has(n));
    expect(missing, 'served but not in docs/metrics.md').toEqual([]);
    expect(extra, 'in docs/metrics.md but not served').toEqual([]);
    for (const [name, type] of served) expect(documented.get(name), name).toBe(type);
  });

  it('follows the naming conventions: stirgate_ prefix, counters end in _total, durations in _seconds', async () => {
    for (const [name, type] of await documentedSeries()) {
      if (!name.startsWith('stirgate_')) continue;
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, name).not.toMatch(/_total$/);
      if (/duration|processing|latency/.test(name)) expect(name, name).toMatch(/_seconds$/);
    }
  });
});

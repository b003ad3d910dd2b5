import { describe, expect, it } from 'vitest';
import { diffConfig, mergeReloadable } from '../../../src/app/config-diff.js';
import { type Config, parseConfig } from '../../../src/config/index.js';

/** A passthrough element; `over` replaces whole top-level keys of the base text. */
function config(over: Record<string, string> = {}): Config {
  const keys: Record<string, string> = {
    listen: '[{ transport: udp, address: 127.0.0.1, port: 5060 }]',
    trunks: '[{ name: peer, match: { sources: [127.0.0.2/32] }, role: passthrough, route: a }]',
    routes: '[{ name: a, next_hops: [{ address: 127.0.0.1, port: 5080 }] }]',
    data_dir: '/tmp/stirgate-diff',
    workers: '1',
    ...over,
  };
  const text = Object.entries(keys)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return parseConfig(text, 'test');
}

describe('configuration diff (what a reload applies, what needs a restart)', () => {
  it('the same configuration parsed twice differs in nothing', () => {
    expect(diffConfig(config(), config())).toEqual({ changed: [], restartRequired: [] });
  });

  it('trunks, routes, customers, unmatched_source, sip.call_limits and log.level are applied', () => {
    const next = config({
      trunks:
        '[{ name: peer, match: { sources: [127.0.0.3/32] }, role: passthrough, route: b }, ' +
        '{ name: other, match: { sources: [10.0.0.0/8] }, role: passthrough, route: b }]',
      routes: '[{ name: b, next_hops: [{ address: 127.0.0.1, port: 5090 }] }]',
      unmatched_source: '{ action: reject, status: 404 }',
      sip: '{ call_limits: { max_calls: 7 } }',
      log: '{ level: debug }',
    });
    const diff = diffConfig(config(), next);
    expect(diff.changed.toSorted()).toEqual(
      ['log.level', 'routes', 'sip.call_limits', 'trunks', 'unmatched_source'].toSorted(),
    );
    expect(diff.restartRequired).toEqual([]);
  });

  it('listen, workers, data_dir, metrics, admin, stir, traceback and sip timers need a restart', () => {
    const next = config({
      listen: '[{ transport: udp, address: 127.0.0.1, port: 5070 }]',
      workers: '2',
      worker_udp_port_base: '7000',
      data_dir: '/tmp/elsewhere',
      metrics: '{ listen: "127.0.0.1:9999" }',
      admin: '{ listen: "" }',
      traceback: '{ enabled: false }',
      sip: '{ timers: { t1_ms: 250 }, call_limits: { max_calls: 9 } }',
    });
    const diff = diffConfig(config(), next);
    expect(diff.changed).toEqual(['sip.call_limits']);
    expect(diff.restartRequired.toSorted()).toEqual(
      [
        'admin',
        'data_dir',
        'listen',
        'metrics',
        'sip.timers',
        'traceback',
        'worker_udp_port_base',
        'workers',
      ].toSorted(),
    );
  });

  it('the merged configuration takes the reloadable parts and keeps the running value of the rest', () => {
    const running = config();
    const next = config({
      listen: '[{ transport: udp, address: 127.0.0.1, port: 5070 }]',
      routes: '[{ name: a, next_hops: [{ address: 127.0.0.1, port: 5090 }] }]',
      sip: '{ max_forwards: 20, call_limits: { max_calls: 9 } }',
    });
    const merged = mergeReloadable(running, next);
    expect(merged.listen).toEqual(running.listen);
    expect(merged.routes).toBe(next.routes);
    expect(merged.sip.callLimits.maxCalls).toBe(9);
    expect(merged.sip.maxForwards).toBe(running.sip.maxForwards);
    expect(merged.sip.timers).toBe(running.sip.timers);
    expect(Object.isFrozen(merged) && Object.isFrozen(merged.sip)).toBe(true);
    // Applying the merged configuration again changes nothing; the restart-required part still differs.
    expect(diffConfig(merged, next)).toEqual({
      changed: [],
      restartRequired: ['listen', 'sip.max_forwards'],
    });
  });

  it('a configuration that crossed the cluster IPC as JSON (undefined keys gone) differs in nothing', () => {
    const running = config();
    expect(diffConfig(running, JSON.parse(JSON.stringify(running)) as Config)).toEqual({
      changed: [],
      restartRequired: [],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { configWarnings, DEFAULT_CONFIG_YAML, parseConfig } from '../../../src/config/index.js';
import { BASE } from './support.js';

describe('configWarnings: an element with nothing to do says so', () => {
  it('an empty file: no trunks, every INVITE refused', () => {
    expect(configWarnings(parseConfig('', 'empty.yaml'))).toMatchObject([
      { path: 'trunks', code: 'no_trunks', message: expect.stringMatching(/every INVITE gets 403/) },
    ]);
  });

  it('no trunks but unmatched_source passes through: something to do, no warning', () => {
    const c = parseConfig(
      'routes:\n  - { name: out, next_hops: [{ address: 127.0.0.1 }] }\nunmatched_source: { action: passthrough, route: out }\n',
      'x.yaml',
    );
    expect(configWarnings(c)).toEqual([]);
  });

  it('a route no trunk uses is named', () => {
    const yaml = BASE.replace(
      'customers:',
      '  - { name: spare, next_hops: [{ address: 192.0.2.9 }] }\ncustomers:',
    );
    const c = parseConfig(yaml, 'x.yaml');
    expect(c.routes.map((r) => r.name)).toContain('spare');
    expect(configWarnings(c)).toMatchObject([{ path: 'routes[2]', code: 'unused_route' }]);
  });

  it('the base test configuration and the embedded default warn about nothing', () => {
    expect(configWarnings(parseConfig(BASE, 'base.yaml'))).toEqual([]);
    expect(configWarnings(parseConfig(DEFAULT_CONFIG_YAML, 'default'))).toEqual([]);
  });
});

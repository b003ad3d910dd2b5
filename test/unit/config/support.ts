import { ConfigError, type ConfigProblem, parseConfig } from '../../../src/config/index.js';

/** Problems `parseConfig` reports for `yaml`; fails the test when it parses. */
export function problemsOf(yaml: string): ConfigProblem[] {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

/** A valid minimal configuration with one trunk of each role; tests edit it. */
export const BASE = `
trunks:
  - name: cust-a
    role: originating
    match: { sources: [192.0.2.0/24] }
    route: core
  - name: carrier-in
    role: terminating
    match: { sources: [198.51.100.7] }
    route: pbx
  - name: peer
    role: passthrough
    match: { sources: ["2001:db8::/32"] }
    route: core
routes:
  - name: core
    next_hops: [{ address: 203.0.113.10 }]
  - name: pbx
    next_hops: [{ address: 10.1.1.1, port: 5070, transport: tcp }]
customers:
  - name: acme
    trunks: [cust-a]
    numbers: ["12025550100"]
`;

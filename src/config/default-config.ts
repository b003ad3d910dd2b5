/**
 * The configuration used when no file is given (`stirgate` with no `--config`), parsed by the same loader as a
 * file. A loopback development setup: calls from 127.0.0.1 are signed with the dev PKI and sent to
 * 127.0.0.1:5080. `stirgate config print-default` prints this text; docs/config.md shows it.
 */
export const DEFAULT_CONFIG_YAML = `# Stirgate embedded default configuration (loopback development setup).
# Every key not written here takes its schema default (docs/config.md).

listen:
  - { transport: udp, address: 127.0.0.1, port: 5060 }
  - { transport: tcp, address: 127.0.0.1, port: 5060 }

# Requests from 127.0.0.1 come from the demo customer: sign them (no stir.signing => dev PKI in data_dir).
trunks:
  - name: local
    match:
      sources: [127.0.0.1/32]
    role: originating
    route: default

routes:
  - name: default
    next_hops:
      - { address: 127.0.0.1, port: 5080, transport: udp }

# origid is generated on first start and kept in data_dir.
customers:
  - name: demo
    trunks: [local]
    numbers: ["1202555*"]
    # No limits: policy.default_limits (5 calls/s, a burst of 10, 20 at once; docs/operations.md).

data_dir: .stirgate

# Every call signed, verified or refused is on record in data_dir/traceback.db for 30 days
# ("stirgate traceback", docs/traceback.md); "traceback: { enabled: false }" turns it off.
traceback:
  enabled: true

log:
  level: info
`;

/** Source name used in messages for the embedded default. */
export const DEFAULT_CONFIG_SOURCE = '<embedded default>';

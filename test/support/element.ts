import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stirgate, startStirgate } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';

export interface Element {
  readonly app: Stirgate;
  readonly dataDir: string;
  /** SIP port (UDP and TCP share it). */
  readonly port: number;
  /** Wait until no call, dialog or transaction is left (or fail after `ms`). */
  drained(ms?: number): Promise<ReturnType<Stirgate['stats']>>;
  stop(): Promise<void>;
}

/**
 * Start a real Stirgate in this process from YAML text (real sockets on 127.0.0.1; `{port}` and
 * `{data_dir}` in the text are replaced). The SIP port is chosen by binding port 0 on UDP and TCP.
 */
export async function startElement(
  yaml: string,
  opts: { port: number; logLevel?: string },
): Promise<Element> {
  const dataDir = await mkdtemp(join(tmpdir(), 'stirgate-test-'));
  let text = yaml.replaceAll('{port}', String(opts.port)).replaceAll('{data_dir}', dataDir);
  // Metrics are on by default (a fixed port): elements in tests turn them off unless the YAML says otherwise.
  if (!/^metrics:/m.test(text)) text += '\nmetrics: { listen: "" }\n';
  // So is the admin API (127.0.0.1:9465): two elements, or two test files, would want the same port.
  if (!/^admin:/m.test(text)) text += '\nadmin: { listen: "" }\n';
  const config = parseConfig(text, 'test', { version: 'test' });
  const logger = createLogger({
    level: (opts.logLevel ?? process.env.STIRGATE_TEST_LOG ?? 'silent') as 'silent',
  });
  const app = await startStirgate(config, logger);
  return {
    app,
    dataDir,
    port: opts.port,
    async drained(ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const s = app.stats();
        if (s.calls === 0 && s.dialogs === 0 && s.clientTransactions === 0 && s.serverTransactions === 0)
          return s;
        if (Date.now() > deadline) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * YAML for the usual signing element of the SIPp tests: UDP on `{port}`, one originating trunk for
 * 127.0.0.2 whose customer owns +1202555..., routed to 127.0.0.1:`nextHopPort` over UDP, the development
 * PKI. `extra` is appended as top-level keys (e.g. `sip: { timers: ... }`).
 */
export function signingElementYaml(nextHopPort: number, extra = ''): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
trunks:
  - name: customer
    match: { sources: [127.0.0.2/32] }
    role: originating
    route: next
routes:
  - name: next
    next_hops: [{ address: 127.0.0.1, port: ${nextHopPort}, transport: udp }]
customers:
  - name: signing-customer
    trunks: [customer]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: {data_dir}
${extra}
`;
}

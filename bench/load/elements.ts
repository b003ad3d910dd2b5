/**
 * The two elements under test, each started fresh per mode on 127.0.0.1 and stopped by pid:
 *
 * - Kamailio 5.6 with bench/load/kamailio/{forward,sign,verify}.cfg (secsipid module for STIR), `-n 2`
 *   UDP workers by default (one per core of the target machine), 1 GB shared memory by default (at 256 MB
 *   its transactions ran out of it above ~1,700 calls/s and it answered 500).
 * - Stirgate (dist/src/main.js) with a configuration written here: one trunk from the caller
 *   (127.0.0.2/32) whose role is the mode (passthrough, originating, terminating with on_failure: reject),
 *   one route to the callee. The probe (element-probe.ts) is preloaded with --import.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/node-flags.js';
import {
  type Managed,
  processTree,
  pssKb,
  sleep,
  spawnManaged,
  statusKb,
  stopManaged,
  waitUdpBound,
} from './processes.js';

export type ElementKind = 'kamailio' | 'stirgate';
export type Mode = 'forward' | 'sign' | 'verify';

export interface BenchPki {
  readonly dir: string;
  readonly keyFile: string;
  readonly chainFile: string;
  readonly caFile: string;
}

export interface ElementOptions {
  readonly mode: Mode;
  /** Scratch directory for this element (config, logs, caches). */
  readonly dir: string;
  readonly port: number;
  readonly uasPort: number;
  readonly pki: BenchPki;
  /** x5u URL signed into PASSporTs (sign) and served by the bench (verify). */
  readonly x5u: string;
  readonly x5uPort: number;
  readonly origid: string;
  /** Stirgate only: loopback ports for the probe and /metrics. */
  readonly probePort: number;
  readonly metricsPort: number;
  /** Kamailio only: UDP worker processes (-n). */
  readonly kamailioWorkers: number;
  /** Kamailio only: shared memory, MB (-m); transactions live there. */
  readonly kamailioShmMb: number;
  /** Stirgate only, experiment: SO_RCVBUF the probe forces on its UDP sockets (0: unchanged). */
  readonly stirgateRcvbuf: number;
  /** Stirgate only: extra node flags (--cpu-prof, --expose-gc). */
  readonly nodeFlags?: readonly string[];
}

export interface Element {
  readonly kind: ElementKind;
  readonly mode: Mode;
  readonly port: number;
  /** Main process (Stirgate: the node process; Kamailio: the attendant that forked the workers). */
  readonly main: Managed;
  /** Every process of the element (Kamailio: attendant + workers), for CPU accounting. */
  readonly pids: readonly number[];
  /** Stirgate: base URL of the probe. */
  readonly probeUrl?: string;
  /** Stirgate: /metrics URL. */
  readonly metricsUrl?: string;
  /** Resident memory, kB: Stirgate VmRSS; Kamailio the sum of PSS over its processes (shared memory counted once). */
  memoryKb(): Promise<number>;
  /** Kamailio: times its log said shared memory ran out so far (0 for Stirgate). */
  outOfMemory(): Promise<number>;
  stop(): Promise<void>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** bench/load/ in the source tree (Kamailio configs, scenarios); the bench runs from the repository root. */
export const SOURCE_DIR = join(process.cwd(), 'bench', 'load');
/** dist/src/main.js next to this compiled file. */
const STIRGATE_MAIN = join(HERE, '..', '..', 'src', 'main.js');
const PROBE = new URL('./element-probe.js', import.meta.url).href;

export async function startKamailio(o: ElementOptions): Promise<Element> {
  const cfg = join(SOURCE_DIR, 'kamailio', `${o.mode}.cfg`);
  const cacheDir = join(o.dir, 'secsipid-cache');
  await mkdir(cacheDir, { recursive: true });
  const args = [
    '-f',
    cfg,
    '-DD',
    '-E',
    '-n',
    String(o.kamailioWorkers),
    '-T',
    '-m',
    String(o.kamailioShmMb),
    '-M',
    '16',
    '-l',
    `udp:127.0.0.1:${o.port}`,
    '-A',
    `UAS_DST="sip:127.0.0.1:${o.uasPort}"`,
    '-A',
    `X5U="${o.x5u}"`,
    '-A',
    `KEY_FILE="${o.pki.keyFile}"`,
    '-A',
    `ORIGID="${o.origid}"`,
    '-A',
    `CACHE_DIR="${cacheDir}"`,
  ];
  const main = spawnManaged(`kamailio-${o.mode}`, 'kamailio', args, {
    cwd: o.dir,
    logFile: join(o.dir, 'kamailio.log'),
  });
  await waitUdpBound(o.port, main, 'kamailio');
  await sleep(500); // workers finish child_init (secsipid loads its per-process library there)
  const pids = await processTree(main.pid);
  return {
    kind: 'kamailio',
    mode: o.mode,
    port: o.port,
    main,
    pids,
    memoryKb: async () => (await Promise.all(pids.map(pssKb))).reduce((a, b) => a + b, 0),
    outOfMemory: async () => {
      const text = await readFile(join(o.dir, 'kamailio.log'), 'utf8').catch(() => '');
      return text.split('could not allocate shared memory').length - 1;
    },
    stop: async () => {
      await stopManaged(main, 'SIGTERM', 5000);
    },
  };
}

/** The Stirgate configuration for a mode (docs/config.md). */
export function stirgateConfig(o: ElementOptions): string {
  const role = o.mode === 'forward' ? 'passthrough' : o.mode === 'sign' ? 'originating' : 'terminating';
  const lines = [
    '# Written by bench/load/run.ts for one load-bench mode.',
    'listen:',
    `  - { transport: udp, address: 127.0.0.1, port: ${o.port} }`,
    'trunks:',
    '  - name: bench-caller',
    `    role: ${role}`,
    '    match: { sources: [127.0.0.2/32] }',
    '    route: callee',
  ];
  if (o.mode === 'verify') lines.push('    verification: { on_failure: reject }');
  lines.push(
    'routes:',
    '  - name: callee',
    `    next_hops: [{ address: 127.0.0.1, port: ${o.uasPort}, transport: udp }]`,
  );
  if (o.mode === 'sign') {
    lines.push(
      'customers:',
      '  - name: bench-customer',
      '    trunks: [bench-caller]',
      '    numbers: ["12025550100"]',
      `    origid: ${o.origid}`,
      'stir:',
      '  signing:',
      `    private_key_file: ${o.pki.keyFile}`,
      `    certificate_file: ${o.pki.chainFile}`,
      `    x5u_url: ${o.x5u}`,
    );
  }
  if (o.mode === 'verify') {
    lines.push(
      'stir:',
      '  verification:',
      `    trust_roots_dir: ${join(o.pki.dir, 'roots')}`,
      '    x5u:',
      '      allow_http: true',
      `      allowed_ports: [${o.x5uPort}]`,
      '      allow_cidrs: [127.0.0.1/32]',
    );
  }
  lines.push(
    `data_dir: ${join(o.dir, 'data')}`,
    `metrics: { listen: "127.0.0.1:${o.metricsPort}" }`,
    'log: { level: info }',
    '',
  );
  return lines.join('\n');
}

/** Development experiments only (never for published figures): `STIRGATE_BENCH_NODE_FLAGS="--trace-gc"`. */
function extraNodeFlags(): string[] {
  return (process.env.STIRGATE_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
}

export async function startStirgate(o: ElementOptions): Promise<Element> {
  const cfg = join(o.dir, 'stirgate.yaml');
  await writeFile(cfg, stirgateConfig(o));
  const probeAt = `127.0.0.1:${o.probePort}`;
  const main = spawnManaged(
    `stirgate-${o.mode}`,
    process.execPath,
    [
      ...NODE_FLAGS,
      ...extraNodeFlags(),
      ...(o.nodeFlags ?? []),
      '--import',
      PROBE,
      STIRGATE_MAIN,
      '--config',
      cfg,
    ],
    {
      cwd: o.dir,
      env: {
        ...process.env,
        STIRGATE_BENCH_PROBE: probeAt,
        ...(o.stirgateRcvbuf > 0 ? { STIRGATE_BENCH_RCVBUF: String(o.stirgateRcvbuf) } : {}),
      },
      logFile: join(o.dir, 'stirgate.log'),
    },
  );
  await waitUdpBound(o.port, main, 'stirgate');
  return {
    kind: 'stirgate',
    mode: o.mode,
    port: o.port,
    main,
    pids: [main.pid],
    probeUrl: `http://${probeAt}`,
    metricsUrl: `http://127.0.0.1:${o.metricsPort}/metrics`,
    memoryKb: () => statusKb(main.pid, 'VmRSS'),
    outOfMemory: async () => 0,
    stop: async () => {
      await stopManaged(main, 'SIGTERM', 5000);
    },
  };
}

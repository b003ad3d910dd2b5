/**
 * The two elements under test, each started fresh per mode on 127.0.0.1 and stopped by pid:
 *
 * - Kamailio 5.6 with bench/load/kamailio/{forward,sign,verify}.cfg (secsipid module for STIR), `-n 2`
 *   UDP workers by default (one per core of the target machine), 1 GB shared memory by default (at 256 MB
 *   its transactions ran out of it above ~1,700 calls/s and it answered 500).
 * - Stirgate (dist/src/main.js) with a configuration written here: one trunk from the caller
 *   (127.0.0.2/32) whose role is the mode (passthrough, originating, terminating with on_failure: reject),
 *   one route to the callee, `workers: N` (default 2, as many SIP workers as Kamailio's `-n`; with N > 1 a
 *   primary process forks N workers sharing the SIP socket). The probe (element-probe.ts) is preloaded with
 *   --import into every process: the primary / single process on the probe port, worker k on port + 1 + k.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { UDP_SOCKET_BUFFER_BYTES } from '../../src/sip/transport/udp-transport.js';
import {
  type Managed,
  processTree,
  pssKb,
  pssKbOf,
  running,
  sleep,
  spawnManaged,
  statusKb,
  statusKbOf,
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
  /** Stirgate only: loopback ports for the probe (base; worker k on base + 1 + k) and /metrics. */
  readonly probePort: number;
  readonly metricsPort: number;
  /** Kamailio only: UDP worker processes (-n). */
  readonly kamailioWorkers: number;
  /** Kamailio only: shared memory, MB (-m); transactions live there. */
  readonly kamailioShmMb: number;
  /** Stirgate only: `workers` (SIP worker processes; 1: a single process, as before cluster mode). */
  readonly stirgateWorkers: number;
  /** Stirgate only: `traceback.enabled` (records in data_dir/traceback.db). */
  readonly traceback: boolean;
  /** Stirgate only, experiment: SO_RCVBUF the probe forces on its UDP sockets (0: unchanged). */
  readonly stirgateRcvbuf: number;
  /** Stirgate only: extra node flags (--cpu-prof, --expose-gc). */
  readonly nodeFlags?: readonly string[];
  /** Stirgate only, verify: `stir.verification.signature_check` (absent: Stirgate's default). */
  readonly signatureCheck?: SignatureCheck;
}

/** `stir.verification.signature_check`: where the ES256 check runs. */
export type SignatureCheck = 'event_loop' | 'threadpool';

export interface Element {
  readonly kind: ElementKind;
  readonly mode: Mode;
  readonly port: number;
  /**
   * Main process (Stirgate: the node process, or with workers > 1 the cluster primary; Kamailio: the
   * attendant that forked the workers).
   */
  readonly main: Managed;
  /** Every process of the element (Kamailio: attendant + workers; Stirgate: primary + workers), for CPU accounting. */
  readonly pids: readonly number[];
  /** Stirgate: SIP worker processes (1: the single process). */
  readonly workers?: number;
  /** Stirgate: base URL of the probe (the primary's, or the single process's). */
  readonly probeUrl?: string;
  /** Stirgate: every process's probe, the primary / single process first, then worker 0..N-1. */
  readonly probeUrls?: readonly string[];
  /** Stirgate: the probes of the processes handling calls (the workers; the single process). */
  readonly callProbeUrls?: readonly string[];
  /** Stirgate: /metrics URL. */
  readonly metricsUrl?: string;
  /**
   * Resident memory, kB: Kamailio, and Stirgate with workers > 1, the sum of PSS over its processes
   * (memory shared between them counted once); a single-process Stirgate its VmRSS.
   */
  memoryKb(): Promise<number>;
  /** How memoryKb() measures: `RSS` (one process) or `PSS` (summed over the processes). */
  readonly memoryMethod: 'RSS' | 'PSS';
  /** Stirgate with workers > 1: VmRSS summed over its processes (shared pages counted in each), kB. */
  rssSumKb?(): Promise<number>;
  /** Processes of `pids` that have exited (a cluster worker that died; the primary restarts it). */
  exited(): Promise<number[]>;
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
    // The same UDP receive buffer as Stirgate asks for (udp-transport.ts): Kamailio's auto-probing otherwise stops
    // at its default maxbuffer (256 KiB), and a smaller queue drops bursts that a larger one absorbs.
    '-b',
    String(UDP_SOCKET_BUFFER_BYTES),
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
    // verify.cfg: libsecsipid checks the x5u certificate's chain up to this root, as Stirgate does.
    '-A',
    `CERT_CA_FILE_OPT="CertCAFile=${join(o.pki.dir, 'roots', 'ca.pem')}"`,
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
    memoryMethod: 'PSS',
    exited: async () => exitedOf(pids),
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
    `workers: ${o.stirgateWorkers}`,
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
      '    limits: { cps: 100000, burst: 100000, max_concurrent: 1000000 }',
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
    if (o.signatureCheck !== undefined) lines.push(`    signature_check: ${o.signatureCheck}`);
  }
  lines.push(
    `data_dir: ${join(o.dir, 'data')}`,
    `metrics: { listen: "127.0.0.1:${o.metricsPort}" }`,
    'admin: { listen: "" }',
    `traceback: { enabled: ${o.traceback} }`,
    'log: { level: info }',
  );
  // Development experiments only (never for published figures): top-level YAML lines appended to the
  // configuration, `STIRGATE_BENCH_CONFIG=$'overload: { elu_high_percent: 98 }\nsip: { ... }'`.
  if (process.env.STIRGATE_BENCH_CONFIG) lines.push(process.env.STIRGATE_BENCH_CONFIG);
  lines.push('');
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
  const n = o.stirgateWorkers;
  const probeUrls = Array.from(
    { length: n > 1 ? n + 1 : 1 },
    (_, i) => `http://127.0.0.1:${o.probePort + i}`,
  );
  const metricsUrl = `http://127.0.0.1:${o.metricsPort}/metrics`;
  await waitStirgateReady(main, n, probeUrls, metricsUrl);
  // In cluster mode: the primary and its workers (children by PPid), once every worker is ready.
  const pids = n > 1 ? await processTree(main.pid) : [main.pid];
  if (n > 1 && pids.length !== n + 1)
    throw new Error(
      `stirgate: expected the primary and ${n} workers, found ${pids.length} processes (${pids.join(' ')})`,
    );
  return {
    kind: 'stirgate',
    mode: o.mode,
    port: o.port,
    main,
    pids,
    workers: n,
    probeUrl: probeUrls[0]!,
    probeUrls,
    callProbeUrls: n > 1 ? probeUrls.slice(1) : probeUrls,
    metricsUrl,
    // One process: its VmRSS, as before cluster mode. Several: PSS summed, as for Kamailio's processes.
    memoryKb: () => (n > 1 ? pssKbOf(pids) : statusKb(main.pid, 'VmRSS')),
    memoryMethod: n > 1 ? 'PSS' : 'RSS',
    ...(n > 1 ? { rssSumKb: () => statusKbOf(pids, 'VmRSS') } : {}),
    exited: async () => exitedOf(pids),
    outOfMemory: async () => 0,
    stop: async () => {
      await stopManaged(main, 'SIGTERM', 5000);
    },
  };
}

async function exitedOf(pids: readonly number[]): Promise<number[]> {
  const alive = await Promise.all(pids.map(running));
  return pids.filter((_, i) => !alive[i]);
}

/**
 * Wait until every probe answers and, in cluster mode, the primary's /metrics says all `workers` are ready
 * (`stirgate_cluster_workers{state="ready"}`): the SIP socket is bound as soon as the first worker is.
 */
async function waitStirgateReady(
  main: Managed,
  workers: number,
  probeUrls: readonly string[],
  metricsUrl: string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  const answers = async (url: string) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return res.ok ? await res.text() : undefined;
    } catch {
      return undefined;
    }
  };
  let why = '';
  while (Date.now() < deadline) {
    if (main.done()) throw new Error(`stirgate exited during start-up (${main.how()}; see its log)`);
    const probes = await Promise.all(probeUrls.map((u) => answers(`${u}/snapshot`)));
    const silent = probeUrls.filter((_, i) => probes[i] === undefined);
    let ready = workers;
    if (workers > 1) {
      const m = /^stirgate_cluster_workers\{state="ready"\} (\d+)/m.exec((await answers(metricsUrl)) ?? '');
      ready = m ? Number(m[1]) : 0;
    }
    if (silent.length === 0 && ready >= workers) return;
    why = `${silent.length > 0 ? `probes not answering: ${silent.join(' ')}; ` : ''}${ready}/${workers} workers ready`;
    await sleep(100);
  }
  throw new Error(`stirgate not ready within 30 s (${why})`);
}

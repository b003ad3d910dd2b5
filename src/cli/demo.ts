/**
 * `stirgate demo` / `npm run demo`: the whole STIR/SHAKEN chain on loopback with no configuration.
 *
 *   SIPp caller -> Stirgate (originating trunk: sign) -> Stirgate (terminating trunk: verify) -> SIPp callee
 *
 * Both elements run in this process (the same composition as test/integration/chain.test.ts): the signer
 * makes a dev PKI in a temporary data directory and serves its SP certificate on a loopback x5u server; the
 * verifier trusts that dev CA (trust_roots_dir) and lets exactly that http URL through its x5u policy. SIPp
 * places a few hundred calls from a number of the demo customer (sip-scenarios/demo/), then this prints what
 * happened: calls, attestation signed, verstat seen by the callee (from its message trace), and the signing
 * and verification latency published on the `stirgate:stir:sign` / `stirgate:stir:verify` channels.
 *
 * Development only: plain http x5u on loopback, a throw-away PKI. Needs `sipp` (Debian: sip-tester).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LevelWithSilent } from 'pino';
import { StartupError, type Stirgate, startStirgate } from '../app.js';
import { parseConfig } from '../config/index.js';
import {
  type AttestationEvent,
  channels,
  decisionChannels,
  type EventChannel,
  type SignEvent,
  type VerifyEvent,
} from '../events.js';
import { createLogger } from '../log/logger.js';
import { loadOrCreateDevPki } from '../stir/pki/dev-pki.js';
import { VERSION } from '../version.js';

export interface DemoOptions {
  /** Calls to place (default 300). */
  readonly calls?: number;
  /** Calls per second (default 100). */
  readonly rate?: number;
  /** Keep state here instead of a temporary directory that is removed afterwards. */
  readonly dataDir?: string;
  /** Element log level, written to stderr (default warn). */
  readonly logLevel?: LevelWithSilent;
  /** Where the report goes, one line per call (default console.log). */
  readonly print?: (line: string) => void;
}

/** Latency of one core operation over the run, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface DemoReport {
  /** Every call succeeded at the caller, passed the callee's checks, and arrived TN-Validation-Passed. */
  readonly ok: boolean;
  /** The SIPp caller's counters. */
  readonly calls: { readonly attempted: number; readonly succeeded: number; readonly failed: number };
  /** The SIPp callee's counters (a call fails there when its verification checks do not hold). */
  readonly callee: { readonly answered: number; readonly failed: number };
  /** Attestation decided by the signer per call (`unsigned` when it forwarded without Identity). */
  readonly attestation: Readonly<Record<string, number>>;
  /** verstat values in the From header of the INVITEs the callee received. */
  readonly verstat: Readonly<Record<string, number>>;
  /** Verification codes and certificate cache use (hit / miss) at the verifier. */
  readonly verification: Readonly<Record<string, number>>;
  readonly certificateCache: Readonly<Record<string, number>>;
  readonly signLatency: LatencySummary;
  readonly verifyLatency: LatencySummary;
  readonly durationMs: number;
  /** Why `ok` is false, in words. */
  readonly problems: readonly string[];
}

const DEFAULT_CALLS = 300;
const DEFAULT_RATE = 100;
const SPC = '1234';
const ATTEMPTS = 3;

/** Where `stirgate demo` keeps its state (PKI, traceback records, SIPp traces), relative to the working directory. */
export const DEMO_DIR = '.stirgate-demo';

/** Run the demo; resolves with the report (never rejects for a failed call, only for a broken setup). */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoReport> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const calls = opts.calls ?? DEFAULT_CALLS;
  const rate = opts.rate ?? DEFAULT_RATE;
  const started = Date.now();
  const sipp = sippBinary();
  const scenarios = scenarioDir();
  const problems: string[] = [];
  if (sipp === undefined)
    problems.push('sipp not found on PATH (Debian/Ubuntu: apt-get install sip-tester; or set SIPP_BIN)');
  if (scenarios === undefined)
    problems.push('sip-scenarios/demo/ not found (run from the repository checkout)');
  if (sipp === undefined || scenarios === undefined) {
    for (const p of problems) print(`demo: ${p}`);
    return emptyReport(problems, Date.now() - started);
  }

  const work = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'stirgate-demo-')));
  await mkdir(work, { recursive: true });
  const observed = observe();
  const logger = createLogger({ level: opts.logLevel ?? 'warn', destination: process.stderr });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // The signer's dev PKI exists before either element starts: the verifier trusts its CA, and the
    // signer reuses these files (loadOrCreateDevPki).
    const signerDir = join(work, 'signer');
    const pki = await loadOrCreateDevPki(join(signerDir, 'pki'), { spc: SPC });
    const trustDir = join(work, 'trust');
    await mkdir(trustDir, { recursive: true });
    await writeFile(join(trustDir, 'ca.pem'), pki.caPem);
    const sippDir = join(work, 'sipp');
    await mkdir(sippDir, { recursive: true });

    const callee = await startCallee(sipp, join(scenarios, 'uas.xml'), sippDir, calls);
    closers.push(() => callee.stop());

    const { signer, verifier, signerConfig } = await startElements({
      work,
      signerDir,
      trustDir,
      calleePort: callee.port,
      logger,
    });
    closers.push(
      () => signer.close(),
      () => verifier.close(),
    );
    const signerPort = udpPort(signer);
    print(
      `Stirgate demo: SIPp caller -> Stirgate sign (udp 127.0.0.1:${signerPort}) -> Stirgate verify ` +
        `(udp 127.0.0.1:${udpPort(verifier)}) -> SIPp callee (udp 127.0.0.1:${callee.port})`,
    );
    print(`  dev PKI in ${join(signerDir, 'pki')} (SPC ${SPC}), x5u ${signer.x5u}`);
    print(`  placing ${calls} calls at ${rate}/s from +12025550100 (demo customer) to +12025550199 ...`);

    const caller = await runSippOnce(sipp, {
      dir: sippDir,
      name: 'caller',
      args: [
        `127.0.0.1:${signerPort}`,
        '-sf',
        join(scenarios, 'uac.xml'),
        '-i',
        '127.0.0.1',
        '-m',
        String(calls),
        '-r',
        String(rate),
        '-l',
        String(Math.max(rate, 10)),
      ],
      timeoutS: Math.ceil(calls / rate) + 30,
    });
    // The callee exits by itself after `calls` calls; give stragglers (BYE retransmissions) a moment.
    const calleeResult = await callee.finish(5_000);
    const verstat = countVerstat(await readOptional(callee.messageFile));

    const report = buildReport({
      calls,
      caller,
      callee: calleeResult,
      verstat,
      observed,
      durationMs: Date.now() - started,
      problems,
    });
    printReport(report, print);
    if (opts.dataDir !== undefined) {
      // The elements close first: the signer's traceback writer flushes its records on close.
      for (const close of closers.splice(0).reverse()) await close().catch(() => {});
      await showTraceback(work, signerConfig, (await readOptional(callee.messageFile)) ?? '', print);
    }
    return report;
  } finally {
    observed.stop();
    for (const close of closers.reverse()) await close().catch(() => {});
    if (opts.dataDir === undefined) await rm(work, { recursive: true, force: true });
  }
}

// --- elements -------------------------------------------------------------------------------------------

interface ElementsInput {
  readonly work: string;
  readonly signerDir: string;
  readonly trustDir: string;
  readonly calleePort: number;
  readonly logger: ReturnType<typeof createLogger>;
}

/**
 * Verifier first (its SIP port is the signer's next hop), then the signer. The verifier's x5u policy must
 * name the signer's x5u port before the signer binds it, so that port is picked free beforehand; if another
 * process takes it in between, both are started again on new ports.
 */
async function startElements(
  i: ElementsInput,
): Promise<{ signer: Stirgate; verifier: Stirgate; signerConfig: string }> {
  for (let attempt = 1; ; attempt++) {
    const x5uPort = await freeTcpPort();
    const verifier = await startElement(verifierYaml({ ...i, x5uPort }), 'demo verifier', i.logger);
    try {
      const signerConfig = signerYaml({ signerDir: i.signerDir, x5uPort, verifierPort: udpPort(verifier) });
      const signer = await startElement(signerConfig, 'demo signer', i.logger);
      return { signer, verifier, signerConfig };
    } catch (err) {
      await verifier.close();
      if (!(err instanceof StartupError && err.code === 'listen') || attempt >= ATTEMPTS) throw err;
    }
  }
}

function startElement(
  yaml: string,
  source: string,
  logger: ReturnType<typeof createLogger>,
): Promise<Stirgate> {
  return startStirgate(parseConfig(yaml, source, { version: VERSION }), logger);
}

/** UDP and TCP on port 0: the kernel picks free ports; calls use UDP. */
const LISTEN = `listen:
  - { transport: udp, address: 127.0.0.1, port: 0 }
  - { transport: tcp, address: 127.0.0.1, port: 0 }`;

function signerYaml(p: { signerDir: string; x5uPort: number; verifierPort: number }): string {
  return `# demo signer: the embedded default's customer, forwarding to the verifier
${LISTEN}
trunks:
  - name: demo-customer
    role: originating
    match: { sources: [127.0.0.1/32] }
    route: verifier
routes:
  - name: verifier
    next_hops: [{ address: 127.0.0.1, port: ${p.verifierPort}, transport: udp }]
customers:
  - name: demo
    trunks: [demo-customer]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:${p.x5uPort}", spc: "${SPC}" }
data_dir: ${JSON.stringify(p.signerDir)}
metrics: { listen: "" }
admin: { listen: "" }
`;
}

function verifierYaml(p: ElementsInput & { x5uPort: number }): string {
  return `# demo verifier: trusts the signer's dev CA; x5u policy opened for exactly its loopback http URL
${LISTEN}
trunks:
  - name: from-signer
    role: terminating
    match: { sources: [127.0.0.1/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${p.calleePort}, transport: udp }]
stir:
  verification:
    trust_roots_dir: ${JSON.stringify(p.trustDir)}
    x5u: { allow_http: true, allowed_ports: [${p.x5uPort}], allow_cidrs: [127.0.0.1/32] }
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: ${JSON.stringify(join(p.work, 'verifier'))}
metrics: { listen: "" }
admin: { listen: "" }
`;
}

/**
 * The traceback of one demo call, as an operator does it (docs/traceback.md): the Identity header the callee
 * received, pasted into `stirgate traceback`, which names the customer, trunk and source that sent the call.
 * Needs the demo's state kept (`stirgate demo` keeps it in .stirgate-demo/).
 */
async function showTraceback(
  work: string,
  signerConfig: string,
  calleeTrace: string,
  print: (line: string) => void,
): Promise<void> {
  const identity = /^Identity:[ \t]*(.+)$/im.exec(calleeTrace)?.[1]?.trim();
  if (identity === undefined) {
    print('traceback        no Identity header in the callee trace: nothing to look up');
    return;
  }
  const configFile = join(work, 'signer.yaml');
  const identityFile = join(work, 'identity.txt');
  await writeFile(configFile, signerConfig);
  await writeFile(identityFile, `${identity}\n`);
  print('');
  print('Traceback of the first call the callee received, from its Identity header:');
  print(
    `  npx stirgate traceback --config ${relative('.', configFile)} --identity ${relative('.', identityFile)}`,
  );
  const { tracebackCommand } = await import('./traceback.js');
  let out = '';
  await tracebackCommand(['--config', configFile, '--identity', identityFile], {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      out += t;
    },
    stdin: () => Promise.resolve(''),
    now: Date.now,
    env: process.env,
  });
  for (const line of out.trimEnd().split('\n')) print(`  ${line}`);
}

function udpPort(app: Stirgate): number {
  const ep = app.endpoints.find((e) => e.protocol === 'udp');
  if (ep === undefined) throw new Error('element has no udp listener');
  return ep.local.port;
}

// --- observation -----------------------------------------------------------------------------------------

interface Observed {
  readonly signNs: number[];
  readonly verifyNs: number[];
  readonly attestation: Map<string, number>;
  readonly codes: Map<string, number>;
  readonly cache: Map<string, number>;
  stop(): void;
}

function observe(): Observed {
  const o = {
    signNs: [] as number[],
    verifyNs: [] as number[],
    attestation: new Map<string, number>(),
    codes: new Map<string, number>(),
    cache: new Map<string, number>(),
  };
  const onSign = (m: unknown): void => {
    const e = m as SignEvent;
    if (e.outcome === 'signed') o.signNs.push(e.durationNs);
  };
  const onVerify = (m: unknown): void => {
    const e = m as VerifyEvent;
    o.verifyNs.push(e.durationNs);
    bump(o.codes, e.code);
    bump(o.cache, e.cache);
  };
  const onAttestation = (m: unknown): void => bump(o.attestation, (m as AttestationEvent).attest);
  const subs: [EventChannel<SignEvent | VerifyEvent | AttestationEvent>, (m: unknown) => void][] = [
    [channels.sign, onSign],
    [channels.verify, onVerify],
    [decisionChannels.attestation, onAttestation],
  ];
  for (const [ch, fn] of subs) ch.subscribe(fn);
  return {
    ...o,
    stop: () => {
      for (const [ch, fn] of subs) ch.unsubscribe(fn);
    },
  };
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** Nearest-rank percentiles of durations in ns, as ms. */
export function summarizeLatency(ns: readonly number[]): LatencySummary {
  if (ns.length === 0) return { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = [...ns].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! / 1e6;
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1]! / 1e6 };
}

/** verstat values on the From header of every INVITE in a SIPp -trace_msg file (one per Call-ID). */
export function countVerstat(messages: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (messages === undefined) return out;
  const seen = new Set<string>();
  for (const block of messages.split(/^-{20,}.*$/m)) {
    const at = block.indexOf('\nINVITE ');
    if (at < 0 || !block.includes('message received')) continue;
    const msg = block.slice(at + 1);
    const callId = /^(?:Call-ID|i)\s*:\s*(.+)$/im.exec(msg)?.[1]?.trim() ?? '';
    if (seen.has(callId)) continue; // a retransmission
    seen.add(callId);
    const from = /^(?:From|f)\s*:(.*)$/im.exec(msg)?.[1] ?? '';
    const v = /;verstat=([A-Za-z-]+)/.exec(from)?.[1] ?? '(none)';
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

// --- report ----------------------------------------------------------------------------------------------

function buildReport(r: {
  calls: number;
  caller: SippRun;
  callee: SippRun;
  verstat: Record<string, number>;
  observed: Observed;
  durationMs: number;
  problems: string[];
}): DemoReport {
  const problems = [...r.problems];
  const calls = { attempted: r.caller.created, succeeded: r.caller.successful, failed: r.caller.failed };
  const passed = r.verstat['TN-Validation-Passed'] ?? 0;
  if (calls.succeeded !== r.calls || calls.failed !== 0)
    problems.push(
      `caller: ${calls.succeeded} of ${r.calls} calls succeeded, ${calls.failed} failed${sippDetail(r.caller)}`,
    );
  if (r.callee.failed !== 0 || r.callee.successful !== r.calls)
    problems.push(
      `callee: ${r.callee.successful} calls passed its checks, ${r.callee.failed} failed${sippDetail(r.callee)}`,
    );
  if (passed !== r.calls) problems.push(`callee saw TN-Validation-Passed on ${passed} of ${r.calls} calls`);
  return {
    ok: problems.length === 0,
    calls,
    callee: { answered: r.callee.successful + r.callee.failed, failed: r.callee.failed },
    attestation: Object.fromEntries(r.observed.attestation),
    verstat: r.verstat,
    verification: Object.fromEntries(r.observed.codes),
    certificateCache: Object.fromEntries(r.observed.cache),
    signLatency: summarizeLatency(r.observed.signNs),
    verifyLatency: summarizeLatency(r.observed.verifyNs),
    durationMs: r.durationMs,
    problems,
  };
}

function sippDetail(r: SippRun): string {
  const first = r.errors.split('\n').find((l) => /\S/.test(l) && !/following events occurred/.test(l));
  return first === undefined ? '' : ` (${first.trim().slice(0, 200)})`;
}

function counts(m: Readonly<Record<string, number>>): string {
  const entries = Object.entries(m);
  return entries.length === 0 ? '(none)' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

function latency(l: LatencySummary, what: string): string {
  const ms = (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1));
  return `p50 ${ms(l.p50Ms)} ms, p99 ${ms(l.p99Ms)} ms, max ${ms(l.maxMs)} ms over ${l.count} ${what}`;
}

function printReport(r: DemoReport, print: (line: string) => void): void {
  print('');
  print(
    `calls            ${r.calls.attempted} attempted, ${r.calls.succeeded} succeeded, ${r.calls.failed} failed (SIPp caller)`,
  );
  print(
    `callee           ${r.callee.answered} answered, ${r.callee.failed} failed its checks (verstat, Identity, attestation)`,
  );
  print(`attestation      ${counts(r.attestation)} (signer)`);
  print(`verstat          ${counts(r.verstat)} (From header of the INVITEs the callee received)`);
  print(`verification     ${counts(r.verification)}; certificate ${counts(r.certificateCache)}`);
  print(`signing          ${latency(r.signLatency, 'signatures')} (PASSporT + ES256)`);
  print(`verification     ${latency(r.verifyLatency, 'verifications')} (incl. the first certificate fetch)`);
  print(`took             ${(r.durationMs / 1000).toFixed(1)} s`);
  if (r.ok) print('PASS: every call was signed, verified and delivered with verstat=TN-Validation-Passed');
  else for (const p of r.problems) print(`FAIL: ${p}`);
}

function emptyReport(problems: string[], durationMs: number): DemoReport {
  const none = summarizeLatency([]);
  return {
    ok: false,
    calls: { attempted: 0, succeeded: 0, failed: 0 },
    callee: { answered: 0, failed: 0 },
    attestation: {},
    verstat: {},
    verification: {},
    certificateCache: {},
    signLatency: none,
    verifyLatency: none,
    durationMs,
    problems,
  };
}

// --- SIPp ------------------------------------------------------------------------------------------------

function sippBinary(): string | undefined {
  const candidates = process.env.SIPP_BIN
    ? [process.env.SIPP_BIN]
    : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'sipp'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** sip-scenarios/demo/ from src/cli (tsx, vitest) or dist/src/cli (built), else the working directory. */
function scenarioDir(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('../../sip-scenarios/demo/', import.meta.url)),
    fileURLToPath(new URL('../../../sip-scenarios/demo/', import.meta.url)),
    join(process.cwd(), 'sip-scenarios', 'demo'),
  ];
  return candidates.find((d) => existsSync(join(d, 'uac.xml')) && existsSync(join(d, 'uas.xml')));
}

interface SippRun {
  readonly exitCode: number | null;
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  readonly errors: string;
}

interface SippSpawn {
  readonly dir: string;
  /** File name prefix for the stats and error files. */
  readonly name: string;
  readonly args: readonly string[];
  /** SIPp's own -timeout; the process is killed 5 s after it as a backstop. */
  readonly timeoutS: number;
}

function spawnSipp(bin: string, s: SippSpawn): { child: ChildProcess; result: Promise<SippRun> } {
  const stats = join(s.dir, `${s.name}-stats.csv`);
  const errors = join(s.dir, `${s.name}-errors.log`);
  const args = [
    ...s.args,
    '-t',
    'u1',
    '-nostdin',
    '-timeout',
    `${s.timeoutS}s`,
    '-timeout_error',
    '-trace_stat',
    '-stf',
    stats,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    errors,
  ];
  // Trace files land in the working directory, never next to the scenario files.
  const child = spawn(bin, args, { cwd: s.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    if (stderr.length < 16_384) stderr += c;
  });
  const backstop = setTimeout(() => child.kill('SIGKILL'), (s.timeoutS + 5) * 1000);
  const result = new Promise<SippRun>((resolve) => {
    const done = async (code: number | null): Promise<void> => {
      clearTimeout(backstop);
      const row = lastStatsRow(await readOptional(stats));
      const n = (k: string): number => Number(row[k] ?? 0) || 0;
      resolve({
        exitCode: code,
        created: n('TotalCallCreated'),
        successful: n('SuccessfulCall(C)'),
        failed: n('FailedCall(C)'),
        errors: `${(await readOptional(errors)) ?? ''}${stderr}`,
      });
    };
    child.once('error', (err) => {
      stderr += err.message;
      void done(null);
    });
    child.once('close', (code) => void done(code));
  });
  return { child, result };
}

function runSippOnce(bin: string, s: SippSpawn): Promise<SippRun> {
  return spawnSipp(bin, s).result;
}

interface Callee {
  readonly port: number;
  readonly messageFile: string;
  /** Wait for the callee to exit after its calls, at most `ms`, then stop it. */
  finish(ms: number): Promise<SippRun>;
  stop(): Promise<SippRun>;
}

/** The SIPp callee on a free UDP port (tried again on another port if SIPp cannot bind it). */
async function startCallee(bin: string, scenario: string, dir: string, calls: number): Promise<Callee> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeUdpPort();
    const messageFile = join(dir, `callee-${attempt}-messages.log`);
    const { child, result } = spawnSipp(bin, {
      dir,
      name: `callee-${attempt}`,
      args: [
        '-sf',
        scenario,
        '-i',
        '127.0.0.1',
        '-p',
        String(port),
        '-m',
        String(calls),
        '-trace_msg',
        '-message_file',
        messageFile,
      ],
      timeoutS: Math.ceil(calls / 10) + 60,
    });
    let exited = false;
    void result.then(() => {
      exited = true;
    });
    if (await waitBound(port, () => exited)) {
      const stop = async (): Promise<SippRun> => {
        if (!exited) {
          child.kill('SIGUSR1'); // SIPp: finish open calls, then exit
          setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
        }
        return result;
      };
      return {
        port,
        messageFile,
        stop,
        finish: (ms) =>
          Promise.race([result, new Promise<void>((r) => setTimeout(r, ms).unref())]).then(() => stop()),
      };
    }
    child.kill('SIGKILL');
    const failed = await result;
    if (attempt >= ATTEMPTS)
      throw new Error(`sipp callee could not start: ${failed.errors.trim().slice(0, 500)}`);
  }
}

/** Whether a UDP socket is bound to `port` here (Linux /proc/net/udp); elsewhere wait a moment. */
async function waitBound(port: number, exited: () => boolean): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && !exited()) {
    const tables = await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map(readOptional));
    if (tables.every((t) => t === undefined)) {
      await sleep(500);
      return !exited();
    }
    if (tables.some((t) => t?.includes(hex))) return true;
    await sleep(20);
  }
  return false;
}

function lastStatsRow(csv: string | undefined): Record<string, string> {
  const lines = (csv ?? '').split('\n').filter((l) => l.trim() !== '');
  const names = lines[0]?.split(';') ?? [];
  const values = lines.length > 1 ? lines[lines.length - 1]!.split(';') : [];
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}

// --- small helpers ---------------------------------------------------------------------------------------

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// Cluster mode (`workers: 2`, src/cluster/): the real binary forks two SIP workers sharing one UDP and one TCP
// socket. SIPp calls complete through it whichever worker reads each datagram (steering by Call-ID), a
// PASSporT replayed into a call owned by the other worker is still caught (each worker's copy of the replay
// store, kept in step through the primary: src/cluster/broadcast-replay-store.ts, RFC 8224 §12.1), /metrics sums the workers, a killed worker is replaced, and SIGTERM stops all.
import { createPrivateKey } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOfCallId } from '../../src/cluster/call-id-owner.js';
import { createDevPki, type DevPki } from '../../src/stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from '../../src/stir/pki/x5u-server.js';
import { Signer } from '../../src/stir/signer.js';
import { type BinaryProcess, childPids, ensureBuilt, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';
import {
  runSipp,
  type SippResult,
  type SippServer,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';
import { documentedSeries } from '../unit/metrics/support.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/cluster.test.ts: no sipp binary on PATH (sip-tester)\n');

const WORKERS = 2;
const CALLER_IP = '127.0.0.2'; // SIPp caller: originating trunk (signed with the dev PKI)
const REPLAY_IP = '127.0.0.3'; // raw INVITEs from this test: terminating trunk, reject on failure
const CALLING = '+12025550100';
const CALLED = '+12025550199';

interface Lab {
  dir: string;
  pki: DevPki;
  x5u: X5uServer;
  uas: SippServer;
  busy: BusyCallee;
  port: number;
  metricsPort: number;
  /** worker_udp_port_base: worker k originates requests from this + k. */
  portBase: number;
  bin: BinaryProcess;
}
let lab: Lab | undefined;

function configYaml(l: Omit<Lab, 'bin'>): string {
  return `
workers: ${WORKERS}
worker_udp_port_base: ${l.portBase}
listen:
  - { transport: udp, address: 127.0.0.1, port: ${l.port} }
  - { transport: tcp, address: 127.0.0.1, port: ${l.port} }
trunks:
  - name: caller
    role: originating
    match: { sources: [${CALLER_IP}/32] }
    route: callee
  - name: peer
    role: terminating
    match: { sources: [${REPLAY_IP}/32] }
    route: busy
    verification: { on_failure: reject }
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${l.uas.port}, transport: udp }]
  - name: busy
    next_hops: [{ address: 127.0.0.1, port: ${l.busy.port}, transport: udp }]
customers:
  - name: demo
    trunks: [caller]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:0" }
  verification:
    trust_roots_dir: ${join(l.dir, 'trust')}
    x5u:
      allow_http: true
      allowed_ports: [${l.x5u.port}]
      allow_cidrs: [127.0.0.1/32]
data_dir: ${join(l.dir, 'data')}
metrics: { listen: "127.0.0.1:${l.metricsPort}" }
admin: { listen: "" }
log: { level: ${process.env.CLUSTER_TEST_LOG ?? 'info'} }
`;
}

async function startCluster(l: Omit<Lab, 'bin'>): Promise<BinaryProcess> {
  const file = join(l.dir, 'stirgate.yaml');
  await writeFile(file, configYaml(l));
  const bin = spawnBinary(['--config', file], { cwd: l.dir });
  await bin.waitFor('stirgate listening (cluster)', 20_000);
  return bin;
}

/** The primary's /metrics as name{labels} -> value. */
const SHARED = 'stirgate_cluster_replay_checks_total{outcome="shared"}';
const LATE = 'stirgate_cluster_replay_checks_total{outcome="late_replay"}';

function delta(now: Map<string, number>, before: Map<string, number>, key: string): number {
  return (now.get(key) ?? 0) - (before.get(key) ?? 0);
}

/** Poll `ok` every 20 ms for up to 5 s. */
async function until(ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not reached in 5 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metrics(): Promise<Map<string, number>> {
  const body = await (await fetch(`http://127.0.0.1:${lab!.metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

function describeRun(r: SippResult, bin: BinaryProcess): string {
  return `exit ${r.exitCode}: ${r.successful} ok, ${r.failed} failed\n${r.errorLog ?? ''}\n${bin.output().slice(-3000)}`;
}

/** `calls` basic calls (sip-scenarios/basic) from the caller trunk through the cluster; all must succeed. */
async function basicCalls(transport: 'u1' | 't1', calls: number, rate: number): Promise<SippResult> {
  const r = await runSipp({
    scenario: scenarioPath('basic/uac.xml'),
    remote: `127.0.0.1:${lab!.port}`,
    transport,
    localIp: CALLER_IP,
    service: CALLED,
    calls,
    rate,
    concurrent: 100,
    timeoutS: 60,
  });
  expect(r.successful, describeRun(r, lab!.bin)).toBe(calls);
  return r;
}

describe.skipIf(!HAVE_SIPP)('cluster mode: two SIP workers behind one socket', () => {
  beforeAll(async () => {
    await ensureBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'stirgate-cluster-'));
    const pki = await createDevPki(join(dir, 'pki'), { spc: '1234' });
    await mkdir(join(dir, 'trust'));
    await writeFile(join(dir, 'trust', 'ca.pem'), pki.caPem);
    const x5u = await startX5uServer({ files: { 'sp.pem': pki.spChainPem } });
    const uas = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: 100_000,
      timeoutS: 240,
    });
    const busy = await startBusyCallee();
    await uas.ready;
    const base = {
      dir,
      pki,
      x5u,
      uas,
      busy,
      port: await freePort('both'),
      metricsPort: await freePort('tcp'),
      portBase: await freeUdpRun(WORKERS),
    };
    lab = { ...base, bin: await startCluster(base) };
  }, 60_000);

  afterAll(async () => {
    if (lab === undefined) return;
    lab.bin.child.kill('SIGKILL');
    for (const pid of childPids(lab.bin.child.pid!)) process.kill(pid, 'SIGKILL');
    lab.busy.close();
    await Promise.all([lab.uas.stop(), lab.x5u.close()]);
    await rm(lab.dir, { recursive: true, force: true });
  });

  it('runs one primary and two workers, each logging that it is ready', async () => {
    expect(childPids(lab!.bin.child.pid!)).toHaveLength(WORKERS);
    for (let w = 0; w < WORKERS; w++)
      expect(lab!.bin.output()).toMatch(new RegExp(`"worker":${w},"pid":\\d+.*"worker ready"`));
    const m = await metrics();
    expect(m.get('stirgate_cluster_workers{state="ready"}')).toBe(WORKERS);
  });

  it("serves every worker's series summed plus the primary's own, each documented in docs/metrics.md", async () => {
    const body = await (await fetch(`http://127.0.0.1:${lab!.metricsPort}/metrics`)).text();
    const served = new Map<string, string>();
    for (const m of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) served.set(m[1]!, m[2]!);
    const everyElement = await documentedSeries();
    const primaryOnly = await documentedSeries('Primary series');
    expect([...primaryOnly.keys()].sort()).toEqual([
      'stirgate_cluster_worker_restarts_total',
      'stirgate_cluster_workers',
    ]);
    for (const [name, type] of primaryOnly) expect(served.get(name), name).toBe(type);
    const undocumented = [...served.keys()].filter((n) => !everyElement.has(n) && !primaryOnly.has(n));
    expect(undocumented).toEqual([]);
    expect(served.size).toBeGreaterThan(60);
    expect(body).toMatch(/^stirgate_build_info\{version="[^"]+"\} 1$/m);
    const health = await fetch(`http://127.0.0.1:${lab!.metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe(`ok ${WORKERS}/${WORKERS} workers ready\n`);
  });

  it('completes 300 signed SIPp calls over UDP; datagrams read by the non-owner were forwarded, none lost', async () => {
    const before = await metrics();
    const r = await basicCalls('u1', 300, 100);
    expect(r.failed).toBe(0);
    const m = await metrics();
    const delta = (k: string) => (m.get(k) ?? 0) - (before.get(k) ?? 0);
    // 6 datagrams reach the element per call; about half are read by the worker that does not own them.
    const forwarded = delta('stirgate_cluster_datagrams_total{outcome="forwarded"}');
    expect(forwarded).toBeGreaterThan(300);
    expect(delta('stirgate_cluster_datagrams_total{outcome="received"}')).toBe(forwarded);
    expect(delta('stirgate_cluster_datagrams_total{outcome="rejected"}')).toBe(0);
    expect(delta('stirgate_cluster_datagrams_total{outcome="owner_unavailable"}')).toBe(0);
    // Summed over both workers: every call signed once and ended by BYE.
    expect(delta('stirgate_stir_sign_duration_seconds_count{outcome="signed"}')).toBe(300);
    expect(delta('stirgate_calls_ended_total{trunk="caller",role="originating",cause="bye"}')).toBe(300);
  }, 90_000);

  it('completes SIPp calls over TCP (each connection is owned by the worker that accepted it)', async () => {
    await basicCalls('t1', 50, 50);
  }, 60_000);

  // The PASSporT the replay case used; the restart case replays it again into each worker.
  let usedIdentity: string | undefined;

  /** A fresh Identity header value from CALLING to CALLED, signed by the lab's service provider. */
  function signedIdentity(origid: string): string {
    const signer = new Signer({
      privateKey: createPrivateKey(lab!.pki.spKeyPem),
      x5u: lab!.x5u.url('sp.pem'),
    });
    const r = signer.signSync({ attest: 'A', origTn: CALLING, destTns: [CALLED], origid });
    if (!r.ok) throw new Error('signing failed');
    return r.identity;
  }

  it('catches a PASSporT replayed into a call owned by the other worker (shared replay store)', async () => {
    const once = { identity: signedIdentity('c0ffee00-0000-4000-8000-000000000000') };
    const fresh = { identity: signedIdentity('c0ffee00-0000-4000-8000-000000000001') };
    usedIdentity = once.identity;
    const ids = [callIdOwnedByWorker(0), callIdOwnedByWorker(1), callIdOwnedByWorker(1)];
    const before = await metrics();
    const socket = await bound(REPLAY_IP);
    try {
      // First use, in a call worker 0 owns: verified, forwarded, the callee is busy.
      expect(await invite(socket, ids[0]!, once.identity)).toBe(486);
      // Its key reaches worker 1 through the primary within a few ms (broadcast, every FLUSH_MS): a scrape
      // that counts it shared went through the primary after the relay, and through worker 1 after it.
      await until(async () => delta(await metrics(), before, SHARED) >= 1);
      // The same PASSporT in a call worker 1 owns: a replay (RFC 8224 §6.2.1 step 4) -> 438, not forwarded.
      expect(await invite(socket, ids[1]!, once.identity)).toBe(438);
      // Control: a fresh PASSporT in worker 1's call passes.
      expect(await invite(socket, ids[2]!, fresh.identity)).toBe(486);
    } finally {
      socket.close();
    }
    await until(async () => delta(await metrics(), before, SHARED) >= 2); // the fresh token's key too
    const m = await metrics();
    const d = (k: string) => delta(m, before, k);
    expect(d('stirgate_stir_verifications_total{code="replay",attest="A"}')).toBe(1);
    expect(d('stirgate_stir_verifications_total{code="passed",attest="A"}')).toBe(2);
    // replay.cluster_check: broadcast (default): the two passing tokens' keys were shared with the other worker.
    expect(d(SHARED)).toBe(2);
    expect(d(LATE)).toBe(0);
    // Each B-leg left from its worker's own port (worker_udp_port_base + worker), with a B-leg Call-ID that
    // worker owns, so the callee's answers reach the worker holding the call directly.
    expect(lab!.busy.viaPorts.size).toBe(2); // the replayed INVITE was not forwarded
    for (const [bLegCallId, port] of lab!.busy.viaPorts)
      expect(port).toBe(lab!.portBase + ownerOfCallId(bLegCallId, WORKERS));
    expect(new Set(lab!.busy.viaPorts.values())).toEqual(new Set([lab!.portBase, lab!.portBase + 1]));
  }, 30_000);

  it('a PASSporT used in both workers before its key crossed passes in each, and the primary counts it', async () => {
    const token = { identity: signedIdentity('c0ffee00-0000-4000-8000-000000000002') };
    const before = await metrics();
    const socket = await bound(REPLAY_IP);
    try {
      // Both at once: normally neither worker has the other's key yet (the window of cluster_check: broadcast).
      const answers = await Promise.all([
        invite(socket, callIdOwnedByWorker(0), token.identity),
        invite(socket, callIdOwnedByWorker(1), token.identity),
      ]);
      const passed = answers.filter((a) => a === 486).length;
      // The invariant, whichever way the race went on a loaded machine: at most one call per worker, at least
      // one; every call past the first is a late_replay at the primary.
      expect(answers.every((a) => a === 486 || a === 438)).toBe(true);
      expect(passed).toBeGreaterThanOrEqual(1);
      await until(async () => delta(await metrics(), before, LATE) >= passed - 1);
      // From then on it is a replay in either worker.
      expect(await invite(socket, callIdOwnedByWorker(0), token.identity)).toBe(438);
      expect(await invite(socket, callIdOwnedByWorker(1), token.identity)).toBe(438);
      const m = await metrics();
      expect(delta(m, before, LATE)).toBe(passed - 1);
      expect(delta(m, before, 'stirgate_stir_verifications_total{code="replay",attest="A"}')).toBe(
        4 - passed,
      );
      if (passed === 2) expect(lab!.bin.output()).toContain('"event":"late_replay"');
    } finally {
      socket.close();
    }
  }, 30_000);

  it('replaces a worker that dies, and calls go on', async () => {
    const [victim] = childPids(lab!.bin.child.pid!);
    process.kill(victim!, 'SIGKILL');
    await lab!.bin.waitFor('worker exited', 5_000);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const m = await metrics();
      if (m.get('stirgate_cluster_workers{state="ready"}') === WORKERS) {
        expect(m.get('stirgate_cluster_worker_restarts_total')).toBe(1);
        break;
      }
      if (Date.now() > deadline) throw new Error(`worker not replaced:\n${lab!.bin.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(childPids(lab!.bin.child.pid!)).not.toContain(victim);
    // The new worker got the primary's replay keys before its first call: the PASSporT used before the
    // restart is a replay in either worker, refused by the worker itself (no late_replay at the primary).
    if (usedIdentity !== undefined) {
      const before = await metrics();
      const socket = await bound(REPLAY_IP);
      try {
        expect(await invite(socket, callIdOwnedByWorker(0), usedIdentity)).toBe(438);
        expect(await invite(socket, callIdOwnedByWorker(1), usedIdentity)).toBe(438);
      } finally {
        socket.close();
      }
      const m = await metrics();
      expect(delta(m, before, 'stirgate_stir_verifications_total{code="replay",attest="A"}')).toBe(2);
      expect(delta(m, before, LATE)).toBe(0);
    }
    await basicCalls('u1', 100, 100);
  }, 60_000);

  it('stops every process on SIGTERM with exit code 0', async () => {
    const workers = childPids(lab!.bin.child.pid!);
    expect(workers).toHaveLength(WORKERS);
    lab!.bin.child.kill('SIGTERM');
    expect(await lab!.bin.exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  }, 20_000);
});

describe('cluster mode: start-up failures', () => {
  beforeAll(ensureBuilt, 130_000);

  it('exits 1 naming worker_udp_port_base when a worker cannot bind its own UDP port', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stirgate-cluster-bad-'));
    const taken = await bound('127.0.0.1');
    try {
      const port = await freePort('both');
      await writeFile(
        join(dir, 'stirgate.yaml'),
        `workers: 2\nworker_udp_port_base: ${taken.address().port}\nlisten: [{ transport: udp, address: 127.0.0.1, port: ${port} }]\nmetrics: { listen: "" }\nadmin: { listen: "" }\ndata_dir: ${join(dir, 'data')}\n`,
      );
      const bin = spawnBinary(['--config', join(dir, 'stirgate.yaml')], { cwd: dir });
      const code = await Promise.race([
        bin.exited,
        new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
      ]);
      expect(code, bin.output()).toBe(1);
      expect(bin.output()).toMatch(
        /worker_udp_port_base: cannot bind this worker's UDP port 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      );
      expect(childPids(bin.child.pid!)).toEqual([]);
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it.each([
    ['a bad workers value, before anything is forked', 'workers: 0\n', /workers/],
    [
      'a missing signing key, reported by the worker that failed, and no worker left behind',
      `workers: 2
trunks: [{ name: t, role: originating, match: { sources: [127.0.0.1/32] }, route: r }]
routes: [{ name: r, next_hops: [{ address: 127.0.0.1, port: 5080 }] }]
customers: [{ name: c, trunks: [t], numbers: ["1202555*"] }]
stir:
  signing: { private_key_file: /nonexistent/key.pem, certificate_file: /nonexistent/cert.pem, x5u_url: "https://x.example/sp.pem" }
`,
      /stir\.signing\.private_key_file/,
    ],
  ])(
    'exits 1 on %s',
    async (_name, yaml, message) => {
      const dir = await mkdtemp(join(tmpdir(), 'stirgate-cluster-bad-'));
      try {
        const port = await freePort('both');
        await writeFile(
          join(dir, 'stirgate.yaml'),
          `listen: [{ transport: udp, address: 127.0.0.1, port: ${port} }]\nmetrics: { listen: "" }\nadmin: { listen: "" }\ndata_dir: ${join(dir, 'data')}\n${yaml}`,
        );
        const bin = spawnBinary(['--config', join(dir, 'stirgate.yaml')], { cwd: dir });
        const code = await Promise.race([
          bin.exited,
          new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
        ]);
        expect(code, bin.output()).toBe(1);
        expect(bin.output()).toMatch(message);
        expect(childPids(bin.child.pid!)).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

// --- raw SIP for the replay case ------------------------------------------------------------------------

interface BusyCallee {
  readonly port: number;
  /** Call-ID -> the port in the top Via sent-by of the INVITE that reached the callee. */
  readonly viaPorts: Map<string, number>;
  close(): void;
}

/** A callee that answers every INVITE 486 (RFC 3261 §8.2.6: Via, From, Call-ID, CSeq copied, To tagged). */
async function startBusyCallee(): Promise<BusyCallee> {
  const s = await bound('127.0.0.1');
  const viaPorts = new Map<string, number>();
  s.on('message', (buf, rinfo) => {
    const req = buf.toString('latin1');
    if (!req.startsWith('INVITE ')) return; // ACKs end the server transaction: nothing to answer
    const head = req.slice(0, req.indexOf('\r\n\r\n')).split('\r\n');
    const pick = (name: RegExp) => head.filter((l) => name.test(l));
    const callId = pick(/^(Call-ID|i):/i)[0]?.replace(/^[^:]*:\s*/, '') ?? '';
    const via = /SIP\/2\.0\/UDP [^:;]+:(\d+)/i.exec(pick(/^(Via|v):/i)[0] ?? '');
    viaPorts.set(callId, Number(via?.[1]));
    const lines = [
      'SIP/2.0 486 Busy Here',
      ...pick(/^(Via|v):/i),
      ...pick(/^(From|f):/i),
      ...pick(/^(To|t):/i).map((l) => `${l};tag=busy`),
      ...pick(/^(Call-ID|i):/i),
      ...pick(/^CSeq:/i),
      'Content-Length: 0',
      '',
      '',
    ];
    s.send(lines.join('\r\n'), rinfo.port, rinfo.address);
  });
  return { port: s.address().port, viaPorts, close: () => s.close() };
}

/** The first of `n` consecutive free UDP ports on 127.0.0.1. */
async function freeUdpRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freePort('udp');
    const held: Socket[] = [];
    let ok = true;
    for (let k = 1; k < n && ok; k++) {
      const s = createSocket('udp4');
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(first + k, '127.0.0.1', () => resolve(true));
      });
      held.push(s);
    }
    for (const s of held) s.close();
    if (ok) return first;
  }
  throw new Error('no run of free UDP ports');
}

let drawn = 0;
function callIdOwnedByWorker(w: number): string {
  for (;;) {
    const id = `replay-${process.pid}-${Date.now()}-${++drawn}@test`;
    if (ownerOfCallId(id, WORKERS) === w) return id;
  }
}

async function bound(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  return s;
}

/** Send an INVITE with `identity`; resolve with its final status (ACKed, RFC 3261 §17.1.1.3). */
function invite(socket: Socket, callId: string, identity: string): Promise<number> {
  const { address, port } = socket.address();
  const branch = `z9hG4bK-${callId.replace(/[^a-z0-9]/gi, '')}`;
  const via = `SIP/2.0/UDP ${address}:${port};branch=${branch};rport`;
  const from = `<sip:${CALLING}@${address}>;tag=f${port}`;
  const to = `<sip:${CALLED}@127.0.0.1>`;
  const sdp =
    'v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\nm=audio 16000 RTP/AVP 0\r\n';
  const text = [
    `INVITE sip:${CALLED}@127.0.0.1:${lab!.port} SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:caller@${address}:${port}>`,
    `Identity: ${identity}`,
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no final response to ${callId}:\n${lab!.bin.output().slice(-4000)}`));
    }, 10_000);
    const onMessage = (buf: Buffer) => {
      const res = buf.toString('latin1');
      if (!res.includes(`Call-ID: ${callId}`) && !res.includes(`i: ${callId}`)) return;
      const status = Number(/^SIP\/2\.0 (\d{3})/.exec(res)?.[1]);
      if (!(status >= 200)) return;
      const toWithTag = /^(?:To|t):\s*(.*)$/im.exec(res)?.[1]?.trim() ?? to;
      const ack = [
        `ACK sip:${CALLED}@127.0.0.1:${lab!.port} SIP/2.0`,
        `Via: ${via}`,
        'Max-Forwards: 70',
        `From: ${from}`,
        `To: ${toWithTag}`,
        `Call-ID: ${callId}`,
        'CSeq: 1 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(ack, lab!.port, '127.0.0.1');
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(status);
    };
    socket.on('message', onMessage);
    socket.send(text, lab!.port, '127.0.0.1');
  });
}

// Operator controls through the real binary in cluster mode (`workers: 2`): `stirgate block add|list|remove`
// against the primary's admin API; a block refuses the next INVITE in each worker and its removal lets the
// next one through, every worker applying each change (its `controls_applied` line) in under a second from
// the API's answer; a restarted worker given the current controls before it is ready, and the
// CLI's exit codes (0 done, 1 refused with the API's code, message and field, 2 bad command line).
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOfCallId } from '../../src/cluster/call-id-owner.js';
import { type BinaryProcess, childPids, ensureBuilt, MAIN, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';

const exec = promisify(execFile);
const WORKERS = 2;

let dir: string;
let configFile: string;
let adminUrl: string;
let token: string;
let bin: BinaryProcess;
let sipPort: number;
let callee: Socket;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'stirgate-ctl-cluster-'));
  const [sip, admin] = [await freePort('udp'), await freePort('tcp')];
  sipPort = sip;
  callee = await busyCallee();
  adminUrl = `http://127.0.0.1:${admin}`;
  configFile = join(dir, 'stirgate.yaml');
  await writeFile(
    configFile,
    `
workers: ${WORKERS}
listen: [{ transport: udp, address: 127.0.0.1, port: ${sip} }]
trunks:
  - { name: caller, role: originating, match: { sources: [127.0.0.2/32] }, route: callee }
routes:
  - { name: callee, next_hops: [{ address: 127.0.0.1, port: ${callee.address().port}, transport: udp }] }
customers:
  - { name: demo, trunks: [caller], numbers: ["1202555*"] }
stir: { dev_pki: { x5u_listen: "127.0.0.1:0" } }
data_dir: ${join(dir, 'data')}
metrics: { listen: "" }
admin: { listen: "127.0.0.1:${admin}" }
traceback: { enabled: false }
log: { level: info }
`,
  );
  bin = spawnBinary(['--config', configFile], { cwd: dir });
  await bin.waitFor('stirgate listening (cluster)', 30_000);
  token = (await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim().split(':')[1]!;
}, 60_000);

afterAll(async () => {
  if (bin !== undefined) {
    for (const pid of childPids(bin.child.pid!)) process.kill(pid, 'SIGKILL');
    bin.child.kill('SIGKILL');
    await bin.exited;
  }
  callee?.close();
  await rm(dir, { recursive: true, force: true });
});

/** `stirgate block ...` as an operator runs it; resolves with its exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [MAIN, 'block', ...args], { cwd: dir, timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Resolves with the ms from now until every worker has logged applying `version`. */
async function everyWorkerApplied(version: number, since: number, ms = 5_000): Promise<number> {
  const deadline = Date.now() + ms;
  const seen = () =>
    Array.from({ length: WORKERS }, (_, w) =>
      new RegExp(`"worker":${w}[^\\n]*"event":"controls_applied","version":${version}\\b`).test(bin.output()),
    ).every(Boolean);
  while (!seen()) {
    if (Date.now() > deadline)
      throw new Error(`not every worker applied version ${version}:\n${bin.output()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now() - since;
}

async function post(body: unknown): Promise<{ status: number; body: { id: string } }> {
  const res = await fetch(`${adminUrl}/v1/blocks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { id: string } };
}

const versionLines = () =>
  [...bin.output().matchAll(/"event":"controls_applied","version":(\d+)/g)].map((m) => Number(m[1]));

describe('operator controls in a cluster', () => {
  it('a block refuses the next INVITE in every worker, its removal lets the next through; each under a second', async () => {
    const caller = await bound('127.0.0.2');
    const perWorker = () => [0, 1].map((w) => call(caller, callIdOwnedByWorker(w)));
    try {
      expect(await Promise.all(perWorker())).toEqual([486, 486]); // through to the (busy) callee
      const added = await post({ match: { calling: CALLING }, action: 'reject', reason: 'r', ticket: 'T-0' });
      const answered = Date.now();
      expect(await Promise.all(perWorker())).toEqual([403, 403]);
      const refusedMs = Date.now() - answered;
      const res = await fetch(`${adminUrl}/v1/blocks/${added.body.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const removed = Date.now();
      expect(await Promise.all(perWorker())).toEqual([486, 486]);
      const throughMs = Date.now() - removed;
      console.log(
        `cluster (${WORKERS} workers): from the API answer, the next INVITE in each worker refused within ${refusedMs} ms, let through within ${throughMs} ms (both final responses)`,
      );
      expect(refusedMs).toBeLessThan(1000);
      expect(throughMs).toBeLessThan(1000);
      // The primary counted for both workers (sg:admit, sg:refused, sg:release).
      const demo = (await (
        await fetch(`${adminUrl}/v1/customers/demo`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { live: { concurrent: number }; refusals: { block?: number } };
      expect(demo.refusals.block).toBe(2);
      expect(demo.live.concurrent).toBe(0);
    } finally {
      caller.close();
    }
  });

  it('every worker applies an added block, then its removal, in under a second from the answer', async () => {
    const v = Math.max(...versionLines());
    const added = await post({
      match: { calling: '+12025550123' },
      action: 'reject',
      reason: 'timing',
      ticket: 'T-1',
    });
    const answered = Date.now();
    expect(added.status).toBe(201);
    const addMs = await everyWorkerApplied(v + 1, answered);
    const res = await fetch(`${adminUrl}/v1/blocks/${added.body.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    const removedAt = Date.now();
    expect(res.status).toBe(200);
    const removeMs = await everyWorkerApplied(v + 2, removedAt);
    console.log(
      `cluster (${WORKERS} workers): block applied in every worker ${addMs} ms, removal ${removeMs} ms after the API answer`,
    );
    expect(addMs).toBeLessThan(1000);
    expect(removeMs).toBeLessThan(1000);
  });

  it('a restarted worker gets the current controls before it reports ready', async () => {
    const current = Math.max(...versionLines());
    const [victim] = childPids(bin.child.pid!);
    const before = bin.output().length;
    process.kill(victim!, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    let tail = '';
    while (Date.now() < deadline) {
      tail = bin.output().slice(before);
      if (/"worker ready"/.test(tail)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const applied = tail.search(new RegExp(`"event":"controls_applied","version":${current}\\b`));
    const ready = tail.indexOf('"worker ready"');
    expect(applied).toBeGreaterThanOrEqual(0);
    expect(ready).toBeGreaterThan(applied);
  }, 30_000);
});

describe('stirgate block (the CLI, a client of the API)', () => {
  it('add prints the block; list shows it (table and JSON); remove undoes it; list --all keeps it', async () => {
    const add = await cli(
      'add',
      '--calling',
      '+1202*',
      '--action',
      'mark',
      '--reason',
      'suspected spoofing',
      '--ticket',
      'NOC-9',
      '--expires',
      '2099-01-01T00:00:00Z',
      '--config',
      configFile,
    );
    expect(add.code).toBe(0);
    const id = /^(b-\d+)\s+calling=\+1202\*\s+mark\s+2099-01-01 00:00:00Z\s+admin/m.exec(add.stdout)?.[1];
    expect(id, add.stdout).toBeDefined();
    const list = await cli('list', '--config', configFile);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(
      /^ID\s+MATCH\s+ACTION\s+EXPIRES\s+ACTOR\s+CREATED\s+TICKET\s+REASON$/,
    );
    expect(list.stdout).toContain(id);
    const json = await cli(
      'list',
      '--json',
      '--url',
      adminUrl,
      '--token-file',
      join(dir, 'data', 'admin-token'),
    );
    expect(JSON.parse(json.stdout)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id, match: { calling: '+1202*' }, ticket: 'NOC-9' }),
      ]),
    );
    const remove = await cli(
      'remove',
      id!,
      '--reason',
      'the school, not a robocaller',
      '--config',
      configFile,
    );
    expect(remove.code).toBe(0);
    expect(remove.stdout).toMatch(/mark \(removed .* by admin\)/);
    expect((await cli('list', '--config', configFile)).stdout).not.toContain(`${id} `);
    expect((await cli('list', '--all', '--config', configFile)).stdout).toContain(id);
    const again = await cli('remove', id!, '--config', configFile);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('block_already_removed');
  });

  it('exit 1 with the API code, message and field when refused; exit 2 for a bad command line', async () => {
    const refused = await cli(
      'add',
      '--customer',
      'nobody',
      '--action',
      'reject',
      '--reason',
      'r',
      '--ticket',
      't',
      '--config',
      configFile,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /unknown_customer: no customer "nobody" is configured \(match\.customer\)/,
    );
    const past = await cli(
      'add',
      '--called',
      '+44*',
      '--action',
      'reject',
      '--reason',
      'r',
      '--ticket',
      't',
      '--expires',
      '2020-01-01T00:00:00Z',
      '--config',
      configFile,
    );
    expect([past.code, past.stderr]).toEqual([1, expect.stringContaining('(expires)')]);
    expect((await cli('add', '--calling', '+1', '--called', '+2', '--config', configFile)).code).toBe(2);
    expect((await cli('frobnicate', '--config', configFile)).code).toBe(2);
    expect((await cli('remove', '--config', configFile)).code).toBe(2);
    expect((await cli('list', '--all', '--reason', 'x', '--config', configFile)).code).toBe(2);
    const unreachable = await cli(
      'list',
      '--url',
      'http://127.0.0.1:1',
      '--token-file',
      join(dir, 'data', 'admin-token'),
    );
    expect([unreachable.code, unreachable.stderr]).toEqual([
      1,
      expect.stringContaining('cannot reach the admin API'),
    ]);
  });
});

// --- raw SIP: an INVITE from the customer's trunk, a callee that is always busy ---------------------------

const CALLING = '+12025550123';
const CALLED = '+12025550199';

async function bound(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  return s;
}

/** Answers every INVITE 486 (RFC 3261 §8.2.6: Via, From, Call-ID, CSeq copied, To tagged). */
async function busyCallee(): Promise<Socket> {
  const s = await bound('127.0.0.1');
  s.on('message', (buf, rinfo) => {
    const req = buf.toString('latin1');
    if (!req.startsWith('INVITE ')) return;
    const head = req.slice(0, req.indexOf('\r\n\r\n')).split('\r\n');
    const pick = (name: RegExp) => head.filter((l) => name.test(l));
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
  return s;
}

let drawn = 0;
function callIdOwnedByWorker(w: number): string {
  for (;;) {
    const id = `ctl-${process.pid}-${Date.now()}-${++drawn}@test`;
    if (ownerOfCallId(id, WORKERS) === w) return id;
  }
}

/** An INVITE from +12025550123 on the originating trunk; resolves with its final status (ACKed). */
function call(socket: Socket, callId: string): Promise<number> {
  const { address, port } = socket.address();
  const via = `SIP/2.0/UDP ${address}:${port};branch=z9hG4bK-${callId.replace(/[^a-z0-9]/gi, '')};rport`;
  const from = `<sip:${CALLING}@${address};user=phone>;tag=f${drawn}`;
  const to = `<sip:${CALLED}@127.0.0.1;user=phone>`;
  const text = [
    `INVITE sip:${CALLED}@127.0.0.1:${sipPort};user=phone SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:caller@${address}:${port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no final response to ${callId}:\n${bin.output().slice(-4000)}`));
    }, 10_000);
    const onMessage = (buf: Buffer) => {
      const res = buf.toString('latin1');
      if (!res.includes(`Call-ID: ${callId}`) && !res.includes(`i: ${callId}`)) return;
      const status = Number(/^SIP\/2\.0 (\d{3})/.exec(res)?.[1]);
      if (!(status >= 200)) return;
      const toWithTag = /^(?:To|t):\s*(.*)$/im.exec(res)?.[1]?.trim() ?? to;
      const ack = [
        `ACK sip:${CALLED}@127.0.0.1:${sipPort};user=phone SIP/2.0`,
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
      socket.send(ack, sipPort, '127.0.0.1');
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(status);
    };
    socket.on('message', onMessage);
    socket.send(text, sipPort, '127.0.0.1');
  });
}

// SIPp calls through a signing element; the Identity headers the callee received (its -trace_msg) are then
// traced back with `stirgate traceback` (the built binary) and the admin API, by the header, by numbers and
// by Call-ID, to the right customer, trunk and source. The records are the element's own `stirgate:traceback`
// events, written to a real SQLite file by this test (the element's writer is tested on its own:
// test/integration/traceback-*.test.ts), so what is checked here is the query side against real calls.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminService } from '../../src/app/admin-service.js';
import { Closers } from '../../src/app/closers.js';
import { parseConfig } from '../../src/config/index.js';
import { type TracebackEvent, tracebackChannel } from '../../src/events.js';
import { createLogger } from '../../src/log/logger.js';
import { SqliteTracebackStore } from '../../src/traceback/sqlite-store.js';
import { ensureBuilt, MAIN } from '../support/binary.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/traceback-cli-sipp.test.ts: no sipp binary on PATH\n');

const CALLS = 6;
const ORIGID = '6f1c2a4e-3b5d-4c7e-9f81-0a2b3c4d5e6f';
const calling = (i: number) => `+1202555010${i}`;
const called = (i: number) => `+1404555020${i}`;

/** The INVITEs in a SIPp -trace_msg file, each as its raw text. */
function receivedInvites(log: string): string[] {
  const out: string[] = [];
  for (const block of log.split(/^-{20,}.*$/m)) {
    const start = block.indexOf('\nINVITE ');
    if (/message received/.test(block) && start >= 0) out.push(block.slice(start + 1).trim());
  }
  return out;
}

function stirgate(args: readonly string[], stdin = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'traceback', ...args], { timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

interface RecordJson {
  readonly customer: string | null;
  readonly trunk: string;
  readonly source: { readonly address: string; readonly transport: string };
  readonly callId: string;
  readonly bCallId: string | null;
  readonly calling: { readonly received: string | null };
  readonly signed: { readonly origid: string } | null;
}

describe.skipIf(!HAVE_SIPP)('traceback of SIPp calls through a signing element', () => {
  let element: Element;
  let dir: string;
  let config: string;
  let store: SqliteTracebackStore;
  let api: string;
  let token: string;
  let invites: string[];
  let caller: SippResult;
  const closers = new Closers();
  const events: TracebackEvent[] = [];
  const collect = (e: TracebackEvent) => events.push(e);

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'stirgate-tb-sipp-'));
    const messages = join(dir, 'callee-messages.log');
    const inf = join(dir, 'calls.csv');
    const lines = Array.from({ length: CALLS }, (_, i) => `${calling(i)};${called(i)};X-Customer: plain`);
    await writeFile(inf, `SEQUENTIAL\n${lines.join('\n')}\n`);
    const uas = await startSippServer({
      scenario: scenarioPath('sign/uas-identity.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 30,
      extraArgs: ['-trace_msg', '-message_file', messages],
    });
    await uas.ready;
    tracebackChannel.subscribe(collect);
    element = await startElement(
      `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
trunks:
  - name: acme-sbc
    role: originating
    match: { sources: [127.0.0.2/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${uas.port}, transport: udp }]
customers:
  - name: acme
    trunks: [acme-sbc]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
    origid: ${ORIGID}
stir:
  dev_pki: { x5u_listen: "127.0.0.1:${await freePort('tcp')}" }
data_dir: {data_dir}
`,
      { port: await freePort('both') },
    );
    caller = await runSipp({
      scenario: scenarioPath('sign/uac.xml'),
      remote: `127.0.0.1:${element.port}`,
      transport: 'u1',
      calls: CALLS,
      rate: CALLS,
      timeoutS: 30,
      extraArgs: ['-inf', inf],
    });
    await Promise.race([uas.result, new Promise((r) => setTimeout(() => r(uas.stop()), 5_000))]);
    await element.drained();
    tracebackChannel.unsubscribe(collect);
    invites = receivedInvites(await readFile(messages, 'utf8'));
    store = SqliteTracebackStore.open(join(dir, 'traceback.db'));
    await store.write(events);
    config = join(dir, 'stirgate.yaml');
    await writeFile(config, `data_dir: ${dir}\n`);
    const admin = parseConfig(`data_dir: ${dir}\nadmin: { listen: "127.0.0.1:0" }\n`, 'test', {
      version: 'test',
    });
    api = (await startAdminService(admin, { traceback: store }, closers, createLogger({ level: 'silent' })))!;
    token = (await readFile(join(dir, 'admin-token'), 'utf8')).trim().split(':')[1]!;
  }, 90_000);

  afterAll(async () => {
    tracebackChannel.unsubscribe(collect);
    await closers.closeAll();
    await store?.close();
    await element?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(`${CALLS} signed calls reached the callee, one record each`, () => {
    expect([caller.successful, caller.failed]).toEqual([CALLS, 0]);
    expect(invites).toHaveLength(CALLS);
    expect(events.filter((e) => e.kind === 'call')).toHaveLength(CALLS);
  });

  it('the CLI finds each call by the Identity header the callee received (the whole INVITE on stdin)', async () => {
    for (const invite of invites) {
      const r = await stirgate(['--identity', '-', '--json', '--config', config], invite);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('matched by digest');
      const [rec, more] = JSON.parse(r.stdout) as RecordJson[];
      expect(more).toBeUndefined();
      const from = /^From:.*<sip:([^@]+)@/m.exec(invite)![1]!;
      const bCallId = /^Call-ID:\s*(\S+)/m.exec(invite)![1]!;
      expect(rec).toMatchObject({
        customer: 'acme',
        trunk: 'acme-sbc',
        source: { address: '127.0.0.2', transport: 'udp' },
        bCallId,
        calling: { received: from },
        signed: { origid: ORIGID },
      });
    }
  });

  it('the API finds the same call by the header, by numbers and by Call-ID', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const invite = invites[2]!;
    const byIdentity = (await (
      await fetch(`${api}/v1/traceback/identity`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/plain' },
        body: /^Identity:.*$/m.exec(invite)![0],
      })
    ).json()) as { matchedBy: string; records: RecordJson[] };
    expect(byIdentity.matchedBy).toBe('digest');
    const rec = byIdentity.records[0]!;
    const from = new Date(Date.now() - 600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const orig = encodeURIComponent(rec.calling.received!);
    const byNumbers = (await (
      await fetch(`${api}/v1/traceback?orig=${orig}&from=${from}&to=${to}`, { headers: auth })
    ).json()) as { records: RecordJson[] };
    expect(byNumbers.records.map((r) => r.callId)).toEqual([rec.callId]);
    for (const id of [rec.callId, rec.bCallId!]) {
      const byCallId = (await (
        await fetch(`${api}/v1/traceback?call_id=${encodeURIComponent(id)}`, { headers: auth })
      ).json()) as { records: RecordJson[] };
      expect(byCallId.records).toEqual([rec]);
    }
  });
});

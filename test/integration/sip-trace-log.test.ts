// At log.level trace the real binary logs every SIP message once in each direction (src/log/sip-trace.ts):
// main used to subscribe the trace writer a second time next to subscribeLogEvents, doubling every line.
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, ensureBuilt, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';

describe.each([1, 2])('SIP trace logging, workers: %i', (workers) => {
  let dir: string;
  let port: number;
  let bin: BinaryProcess;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'stirgate-trace-'));
    port = await freePort('both');
    await writeFile(
      join(dir, 'stirgate.yaml'),
      `workers: ${workers}\nlisten: [{ transport: udp, address: 127.0.0.1, port: ${port} }]\nmetrics: { listen: "" }\nadmin: { listen: "" }\ndata_dir: ${join(dir, 'data')}\nlog: { level: trace }\n`,
    );
    bin = spawnBinary(['--config', join(dir, 'stirgate.yaml')], { cwd: dir });
    await bin.waitFor(workers > 1 ? 'stirgate listening (cluster)' : 'stirgate listening', 20_000);
  }, 60_000);

  afterAll(async () => {
    bin.child.kill('SIGTERM');
    await bin.exited;
    await rm(dir, { recursive: true, force: true });
  });

  it('logs one "SIP received" and one "SIP sent" line for an OPTIONS and its 200', async () => {
    const callId = `trace-${workers}-${process.pid}@test`;
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    const answered = new Promise<string>((resolve) =>
      s.once('message', (m) => resolve(m.toString('latin1'))),
    );
    const me = s.address().port;
    s.send(
      [
        'OPTIONS sip:ping@127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK-trace-${workers}`,
        'Max-Forwards: 70',
        'From: <sip:a@127.0.0.1>;tag=1',
        'To: <sip:ping@127.0.0.1>',
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      port,
      '127.0.0.1',
    );
    expect(await answered).toMatch(/^SIP\/2\.0 200 /);
    s.close();
    await bin.waitFor(/"SIP sent"/, 5_000);
    await new Promise((r) => setTimeout(r, 200)); // a doubled line would be written right after the first
    const lines = bin
      .output()
      .split('\n')
      .filter((l) => l.includes(callId) && l.includes('"event":"sip_trace"'));
    expect(
      lines.filter((l) => l.includes('"SIP received"')),
      lines.join('\n'),
    ).toHaveLength(1);
    expect(
      lines.filter((l) => l.includes('"SIP sent"')),
      lines.join('\n'),
    ).toHaveLength(1);
  });
});

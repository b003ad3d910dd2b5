/**
 * The real `stirgate` binary (dist/src/main.js) answers out-of-dialog OPTIONS — the trunk keep-alive — under
 * SIPp load over UDP and TCP with zero failures by SIPp's own count (issue 2), and `stirgate config check`
 * reports problems with their key path (issue 3).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, ensureBuilt, MAIN, ROOT, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable } from '../support/sipp.js';

const run = promisify(execFile);
/** Issue 2: "e.g. 5,000 requests at 500/s" — 10 s per transport. */
const PINGS = 5000;
const RATE = 500;
const SIPP_TIMEOUT_S = PINGS / RATE + 15;

interface Binary extends BinaryProcess {
  readonly port: number;
  readonly dir: string;
}

/** `node dist/src/main.js --config <file>`; resolves once it logs that it listens. */
async function startBinary(): Promise<Binary> {
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-bin-'));
  const port = await freePort('both');
  const config = join(dir, 'stirgate.yaml');
  // No trunks: OPTIONS is answered whatever the source (RFC 3261 §11.2), and no STIR material is needed.
  await writeFile(
    config,
    `listen:
  - { transport: udp, address: 127.0.0.1, port: ${port} }
  - { transport: tcp, address: 127.0.0.1, port: ${port} }
data_dir: ${JSON.stringify(join(dir, 'data'))}
metrics: { listen: "" }
admin: { listen: "" }
log: { level: info }
`,
  );
  const bin = spawnBinary(['--config', config], { cwd: dir });
  try {
    await bin.waitFor('stirgate listening', 10_000);
  } catch (err) {
    bin.child.kill('SIGKILL');
    throw err;
  }
  return { ...bin, port, dir };
}

function describeRun(r: SippResult): string {
  return [
    `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${r.successful} ok, ${r.failed} failed, ${r.created} created`,
    `args: sipp ${r.args.join(' ')}`,
    r.errorLog ?? '',
    r.stderr.slice(-2000),
  ].join('\n');
}

describe('stirgate config check', () => {
  beforeAll(ensureBuilt, 130_000);

  it('names every bad key by its path and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stirgate-check-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(
        file,
        `listen:
  - { transport: udp, address: 127.0.0.1, port: 5060, bogus: 1 }
sip:
  timers: { t1_ms: fast }
routes:
  - name: r
    next_hops: [{ address: 127.0.0.1, transport: sctp }]
`,
      );
      const err = await run(process.execPath, [MAIN, 'config', 'check', file], { timeout: 10_000 }).then(
        () => undefined,
        (e: { code?: number; stdout: string; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      const text = `${err?.stdout}${err?.stderr}`;
      expect(text).toMatch(/listen\[0\]\.bogus: unknown key/);
      expect(text).toMatch(/sip\.timers\.t1_ms: .*integer/);
      expect(text).toMatch(/routes\[0\]\.next_hops\[0\]\.transport: .*sctp/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('docs/examples/stirgate.example.yaml: values valid, only the files it names under /etc are missing', async () => {
    const err = await run(
      process.execPath,
      [MAIN, 'config', 'check', join(ROOT, 'docs', 'examples', 'stirgate.example.yaml')],
      { timeout: 10_000 },
    ).then(
      () => undefined,
      (e: { code?: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    const keys = (err?.stderr ?? '')
      .trim()
      .split('\n')
      .map((l) => l.split(': ')[1]);
    expect(keys).toEqual([
      'stir.signing.certificate_file',
      'stir.signing.private_key_file',
      'stir.verification.trust_roots_dir',
    ]);
  });

  it('a missing key file fails the check at its key (start would fail); an empty file warns and passes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stirgate-check-'));
    try {
      const keyless = join(dir, 'keyless.yaml');
      const empty = join(dir, 'empty.yaml');
      await writeFile(
        keyless,
        'stir:\n  signing:\n    private_key_file: /nonexistent/key.pem\n    certificate_file: /nonexistent/cert.pem\n    x5u_url: https://certs.example.test/sp.pem\n',
      );
      await writeFile(empty, '');
      const err = await run(process.execPath, [MAIN, 'config', 'check', keyless], { timeout: 10_000 }).then(
        () => undefined,
        (e: { code?: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      expect(err?.stderr).toMatch(
        /stir\.signing\.private_key_file: cannot read "\/nonexistent\/key\.pem": ENOENT/,
      );
      const ok = await run(process.execPath, [MAIN, 'config', 'check', empty], { timeout: 10_000 });
      expect(ok.stdout).toMatch(/: ok$/m);
      expect(ok.stderr).toMatch(/warning: trunks: no trunk is configured/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!sippAvailable())(`stirgate answers ${PINGS} SIPp OPTIONS at ${RATE}/s`, () => {
  let bin: Binary;

  beforeAll(async () => {
    await ensureBuilt();
    bin = await startBinary();
  }, 130_000);

  afterAll(async () => {
    if (bin === undefined) return;
    if (bin.child.exitCode === null) bin.child.kill('SIGKILL');
    await rm(bin.dir, { recursive: true, force: true });
  });

  for (const [transport, mode] of [
    ['UDP', 'u1'],
    ['TCP', 't1'],
  ] as const) {
    it(
      `over ${transport}: every OPTIONS gets its 200, none fails`,
      async () => {
        const r = await runSipp({
          scenario: scenarioPath('options-ping.xml'),
          remote: `127.0.0.1:${bin.port}`,
          transport: mode,
          calls: PINGS,
          rate: RATE,
          timeoutS: SIPP_TIMEOUT_S,
        });
        expect(r.timedOut, describeRun(r)).toBe(false);
        expect(r.failed, describeRun(r)).toBe(0);
        expect(r.successful, describeRun(r)).toBe(PINGS);
        expect(r.created, describeRun(r)).toBe(PINGS);
        expect(r.exitCode, describeRun(r)).toBe(0);
        expect(bin.child.exitCode, bin.output().slice(-2000)).toBeNull();
      },
      (SIPP_TIMEOUT_S + 20) * 1000,
    );
  }

  it('stops on SIGTERM with exit code 0', async () => {
    bin.child.kill('SIGTERM');
    const code = await Promise.race([
      bin.exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000)),
    ]);
    expect(code, bin.output().slice(-2000)).toBe(0);
  });
});

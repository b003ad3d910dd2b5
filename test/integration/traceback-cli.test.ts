// `stirgate traceback`: the compiled binary in its own process, reading a real SQLite store file read-only.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from '../support/binary.js';
import { ended, ORIGID, signedCall, storeFileWith, T0 } from '../unit/traceback/identity-lookup-fixtures.js';

const a1 = signedCall('k1', T0, '12025550100', '12025550199', 'a1@acme');
const a2 = signedCall('k2', T0 + 60_000, '12025550100', '12025550188', 'a2@acme');

let dir: string;
let cleanup: () => Promise<void>;
let config: string;

beforeAll(async () => {
  await ensureBuilt();
  const s = await storeFileWith([a1, a2, ended('k1', T0 + 50_000)]);
  await s.store.close();
  ({ dir, cleanup } = s);
  config = join(dir, 'stirgate.yaml');
  await writeFile(config, `data_dir: ${dir}\n`);
  await writeFile(join(dir, 'a2.identity'), `${a2.identity}\n`);
}, 120_000);
afterAll(() => cleanup());

function stirgate(args: readonly string[], opts: { stdin?: string; cwd?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'traceback', ...args], {
      cwd: opts.cwd ?? dir,
      timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

describe('stirgate traceback', () => {
  it('--identity FILE --json: the call that carried the header, with the API field names', async () => {
    const r = await stirgate(['--identity', join(dir, 'a2.identity'), '--json', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('matched by digest');
    const records = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      id: 'k2',
      time: '2026-12-07T10:01:00.000Z',
      customer: 'acme',
      trunk: 'acme-east',
      source: { address: '192.0.2.10', port: 5060, transport: 'udp' },
      callId: 'a2@acme',
      signed: { origid: ORIGID },
    });
  });

  it('--identity - reads a whole SIP message from stdin and prints a table', async () => {
    const message = `INVITE sip:+12025550199@127.0.0.1 SIP/2.0\r\nCall-ID: b-a1@acme\r\nIdentity: ${a1.identity}\r\n\r\n`;
    const r = await stirgate(['--identity', '-', '--config', config], { stdin: message });
    expect(r.code).toBe(0);
    const [head, row, more] = r.stdout.trimEnd().split('\n');
    expect(head).toMatch(
      /^TIME \(UTC\)\s+ROLE\s+CUSTOMER\s+TRUNK\s+SOURCE\s+CALLING\s+CALLED\s+IDENTITY\s+CALL-ID\s+END$/,
    );
    expect(row).toMatch(
      /^2026-12-07 10:00:00\s+signed\s+acme\s+acme-east\s+udp:192\.0\.2\.10:5060\s+\+12025550100\s+\+12025550199\s+signed A origid=0b3ad0e4/,
    );
    expect(row).toContain('a1@acme');
    expect(row).toMatch(/answered 42s bye$/);
    expect(more).toBeUndefined();
  });

  it('--orig, --orig with --dest, in a window', async () => {
    const from = new Date(T0 - 1000).toISOString();
    const byOrig = await stirgate([
      '--orig',
      '+1 (202) 555-0100',
      '--from',
      from,
      '--to',
      '2026-12-08',
      '--json',
      '--config',
      config,
    ]);
    expect((JSON.parse(byOrig.stdout) as { id: string }[]).map((x) => x.id)).toEqual(['k2', 'k1']);
    const both = await stirgate([
      '--orig',
      '12025550100',
      '--dest',
      '12025550188',
      '--from',
      from,
      '--to',
      '2026-12-08',
      '--json',
      '--config',
      config,
    ]);
    expect((JSON.parse(both.stdout) as { id: string }[]).map((x) => x.id)).toEqual(['k2']);
  });

  it('without --config: the embedded default, whose store is ./.stirgate/traceback.db', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.stirgate'), { recursive: true });
    await copyFile(join(dir, 'traceback.db'), join(home, '.stirgate', 'traceback.db'));
    const byId = await stirgate(['--call-id', 'a1@acme', '--json'], { cwd: home });
    expect([byId.code, (JSON.parse(byId.stdout) as { id: string }[]).map((x) => x.id)]).toEqual([0, ['k1']]);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const none = await stirgate(['--call-id', 'a1@acme'], { cwd: empty });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('.stirgate/traceback.db');
    expect(none.stderr).not.toMatch(/\n\s+at /);
  });

  it('takes relative times: --from -2h (the records of T0 lie outside that window)', async () => {
    const r = await stirgate(['--orig', '12025550100', '--from', '-2h', '--to', 'now', '--config', config]);
    expect([r.code, r.stderr]).toEqual([1, 'no record found\n']);
  });

  it('exit 1 and a clear line when nothing matches', async () => {
    const r = await stirgate(['--call-id', 'nobody@nowhere', '--config', config]);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', 'no record found\n']);
  });

  it.each([
    ['prose as an Identity header', ['--identity', '-'], 'please trace this', 'not_identity_header'],
    ['a number search without --from', ['--orig', '12025550100'], '', '--from'],
    ['an unknown flag', ['--colour', 'red'], '', "Unknown option '--colour'"],
    [
      'two kinds at once',
      ['--call-id', 'x', '--origid', ORIGID, '--from', '-1h'],
      '',
      '--call-id: give one of origid, orig or call_id',
    ],
    [
      'a window over 31 days',
      ['--orig', '12025550100', '--from', '-32d'],
      '',
      '--from: the window from..to is longer than 31 days',
    ],
    ['a time that is not one', ['--orig', '12025550100', '--from', 'yesterday'], '', '--from'],
  ])('exit 2 for %s, with the message and no stack trace', async (_why, args, stdin, says) => {
    const r = await stirgate([...args, '--config', config], { stdin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(says);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

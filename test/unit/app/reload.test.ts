import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stirgate, startStirgate } from '../../../src/app.js';
import { loadConfig, parseConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log/logger.js';
import { callerInvite } from '../../support/peer-messages.js';

/**
 * A real element started from a file (sockets on 127.0.0.1, port 0), reloaded through `Stirgate.reload()`:
 * which next hop receives the B-leg INVITE of a call from 127.0.0.1 shows which routing is in service.
 */
let dir: string;
let file: string;
let app: Stirgate;
let hopA: Socket;
let hopB: Socket;
let caller: Socket;

const CUSTOMER_ID = '0b0e2c4a-9c1d-4a57-8f2e-3f1f2d8e6a11';

function yaml(o: { route: 'a' | 'b'; listenPort?: number; extra?: string; customers?: string }): string {
  return `
listen: [{ transport: udp, address: 127.0.0.1, port: ${o.listenPort ?? 0} }]
trunks:
  - { name: peer, match: { sources: [127.0.0.1/32] }, role: passthrough, route: ${o.route} }
  - { name: cust, match: { sources: [127.0.0.5/32] }, role: originating, route: a }
${o.extra ?? ''}
routes:
  - { name: a, next_hops: [{ address: 127.0.0.1, port: ${port(hopA)} }] }
  - { name: b, next_hops: [{ address: 127.0.0.1, port: ${port(hopB)} }] }
customers:
  - { name: first, trunks: [cust], numbers: ["1202555*"], origid: ${CUSTOMER_ID} }
${o.customers ?? ''}
stir: { dev_pki: { x5u_listen: "127.0.0.1:0" } }
data_dir: ${dir}
traceback: { enabled: false }
metrics: { listen: "" }
admin: { listen: "" }
log: { level: silent }
`;
}

function port(s: Socket): number {
  return s.address().port;
}

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** Sends a new call's INVITE from 127.0.0.1 and resolves with the next hop that receives its B-leg INVITE. */
function routedTo(): Promise<'a' | 'b'> {
  const sip = app.endpoints[0]!.local;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(() => reject(new Error('no B-leg INVITE within 3 s'))), 3000);
    const on = (name: 'a' | 'b') => (msg: Buffer) => {
      if (msg.toString('latin1').startsWith('INVITE ')) done(() => resolve(name));
    };
    const onA = on('a');
    const onB = on('b');
    const done = (settle: () => void) => {
      clearTimeout(timer);
      hopA.off('message', onA);
      hopB.off('message', onB);
      settle();
    };
    hopA.on('message', onA);
    hopB.on('message', onB);
    caller.send(
      callerInvite({ caller: { address: '127.0.0.1', port: port(caller) }, to: sip }),
      sip.port,
      '127.0.0.1',
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-reload-'));
  file = join(dir, 'stirgate.yaml');
  [hopA, hopB, caller] = await Promise.all([udp(), udp(), udp()]);
  await writeFile(file, yaml({ route: 'a' }));
  const config = await loadConfig({ file });
  app = await startStirgate(config, createLogger({ level: 'silent' }), undefined, { file });
}, 20_000);

afterAll(async () => {
  await app?.close();
  for (const s of [hopA, hopB, caller]) s?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Stirgate.reload()', () => {
  it('refuses a file that does not validate with every problem, and the running configuration keeps serving', async () => {
    const before = app.liveConfig.current;
    await writeFile(
      file,
      yaml({
        route: 'b',
        extra:
          '  - { name: bad, match: { sources: [10.0.0.0/33] }, role: passthrough, route: nowhere, colour: red }',
      }),
    );
    const outcome = await app.reload();
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const paths = outcome.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['trunks[2].match.sources[0]', 'trunks[2].route', 'trunks[2].colour']),
    );
    expect(outcome.problems.every((p) => p.line === 6)).toBe(true);
    expect(app.liveConfig.current).toBe(before);
    expect(await routedTo()).toBe('a');
  });

  it('applies routes and trunks to new calls, reports a listen change as needing a restart and keeps the running listen', async () => {
    const before = app.liveConfig.current;
    await writeFile(file, yaml({ route: 'b', listenPort: 5999 }));
    const outcome = await app.reload();
    expect(outcome).toEqual({ ok: true, changed: ['trunks'], restartRequired: ['listen'] });
    expect(app.liveConfig.current).not.toBe(before);
    expect(app.liveConfig.current.trunks[0]?.route).toBe('b');
    expect(app.liveConfig.current.listen).toEqual(before.listen);
    expect(await routedTo()).toBe('b');
  });

  it('gives a new customer without an origid one, kept in data_dir as at start (ATIS-1000074 §5.2.4)', async () => {
    await writeFile(
      file,
      yaml({
        route: 'b',
        extra: '  - { name: cust2, match: { sources: [127.0.0.6/32] }, role: originating, route: a }',
        customers: '  - { name: second, trunks: [cust2], numbers: ["1303555*"] }',
      }),
    );
    const outcome = await app.reload();
    expect(outcome).toMatchObject({ ok: true, changed: ['trunks', 'customers'] });
    const second = app.liveConfig.current.customers.find((c) => c.name === 'second');
    expect(second?.origid).toMatch(/^[0-9a-f-]{36}$/);
    const kept = JSON.parse(await readFile(join(dir, 'origids.json'), 'utf8')) as Record<string, string>;
    expect(kept.second).toBe(second?.origid);
  });

  it('refuses the first terminating trunk: verification starts only with the element', async () => {
    const before = app.liveConfig.current;
    await writeFile(
      file,
      yaml({
        route: 'b',
        extra: '  - { name: carrier, match: { sources: [127.0.0.7/32] }, role: terminating, route: a }',
      }),
    );
    const outcome = await app.reload();
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.problems).toEqual([
      { path: 'trunks[2].role', message: expect.stringContaining('verification') as string },
    ]);
    expect(app.liveConfig.current).toBe(before);
  });

  it('an element started with the embedded default has no file to re-read', async () => {
    const other = await startStirgate(
      parseConfig(yaml({ route: 'a' }), 'test'),
      createLogger({ level: 'silent' }),
    );
    try {
      const outcome = await other.reload();
      expect(outcome).toEqual({
        ok: false,
        problems: [{ path: '(file)', message: expect.stringContaining('--config') as string }],
      });
    } finally {
      await other.close();
    }
  });
});

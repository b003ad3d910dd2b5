import type { Worker } from 'node:cluster';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReloadOutcome } from '../../../src/app/reload.js';
import type { PrimaryToWorker } from '../../../src/cluster/protocol.js';
import { ReloadRelay } from '../../../src/cluster/reload-relay.js';
import { parseConfig } from '../../../src/config/index.js';

const CONFIG = parseConfig(
  `
trunks: [{ name: peer, match: { sources: [127.0.0.2/32] }, role: passthrough, route: a }]
routes: [{ name: a, next_hops: [{ address: 127.0.0.1, port: 5080 }] }]
data_dir: /tmp/stirgate-relay
`,
  'test',
);

/** A worker whose IPC answers `sg:reload` with `outcome` (undefined: never answers); records what it got. */
function fakeWorker(relay: ReloadRelay, outcome: ReloadOutcome | undefined, connected = true) {
  const got: PrimaryToWorker[] = [];
  const worker = {
    isConnected: () => connected,
    send: (m: PrimaryToWorker) => {
      got.push(m);
      if (outcome !== undefined && m.t === 'sg:reload')
        queueMicrotask(() => relay.answered({ t: 'sg:reloaded', id: m.id, outcome }));
      return true;
    },
  } as unknown as Worker;
  return { worker, got };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ReloadRelay (the primary side of a cluster reload)', () => {
  it('sends the configuration to every worker and reports nothing when all apply it', async () => {
    const relay = new ReloadRelay();
    const ok: ReloadOutcome = { ok: true, changed: ['routes'], restartRequired: [] };
    const w0 = fakeWorker(relay, ok);
    const w1 = fakeWorker(relay, ok);
    const problems = await relay.broadcast(
      [
        { index: 0, worker: w0.worker },
        { index: 1, worker: w1.worker },
      ],
      CONFIG,
    );
    expect(problems).toEqual([]);
    for (const w of [w0, w1])
      expect(w.got).toEqual([{ t: 'sg:reload', id: expect.any(Number), config: CONFIG }]);
    expect(w0.got[0]).not.toEqual(w1.got[0]); // one id per request
  });

  it('a worker that refuses, or cannot be reached, is one problem each, named by its index', async () => {
    const relay = new ReloadRelay();
    const refused: ReloadOutcome = {
      ok: false,
      problems: [{ path: '(reload)', message: 'DNO file unreadable' }],
    };
    const problems = await relay.broadcast(
      [
        { index: 0, worker: fakeWorker(relay, { ok: true, changed: [], restartRequired: [] }).worker },
        { index: 1, worker: fakeWorker(relay, refused).worker },
        { index: 2, worker: fakeWorker(relay, undefined, false).worker },
      ],
      CONFIG,
    );
    expect(problems).toEqual([
      { path: 'workers[1]', message: 'worker 1: (reload): DNO file unreadable' },
      { path: 'workers[2]', message: 'worker 2: (worker): not connected to the primary' },
    ]);
  });

  it('a worker that does not answer within 10 s is a problem; a late answer is ignored', async () => {
    vi.useFakeTimers();
    const relay = new ReloadRelay();
    const silent = fakeWorker(relay, undefined);
    const pending = relay.broadcast([{ index: 3, worker: silent.worker }], CONFIG);
    await vi.advanceTimersByTimeAsync(9_999);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await pending).toEqual([
      { path: 'workers[3]', message: 'worker 3: (worker): no answer within 10000 ms' },
    ]);
    const id = (silent.got[0] as PrimaryToWorker & { t: 'sg:reload' }).id;
    expect(() =>
      relay.answered({ t: 'sg:reloaded', id, outcome: { ok: true, changed: [], restartRequired: [] } }),
    ).not.toThrow();
  });
});

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type TracebackCallEvent, type TracebackEvent, tracebackChannel } from '../../../src/events.js';
import { createLogger } from '../../../src/log/logger.js';
import { TracebackWriter, type TracebackWriterOptions } from '../../../src/traceback/writer.js';
import { FakeClock } from '../../support/fake-clock.js';
import { signedCall } from './traceback-fixtures.js';

/** A signed call keyed `run-<n>`, the key prefix the writer under test owns. */
const call = (n: number): TracebackCallEvent => signedCall(n, { key: `run-${n}` });

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level: 'warn', destination }), lines };
}

/** Let promise callbacks (the sink's answers) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

let writer: TracebackWriter | undefined;
afterEach(async () => {
  // Unsubscribe whatever a test left; a sink that never answers is not waited for.
  const w = writer;
  writer = undefined;
  if (w !== undefined) {
    const closing = w.close();
    clock?.advance(60_000);
    await closing;
  }
});
let clock: FakeClock | undefined;

function start(o: Partial<TracebackWriterOptions> & Pick<TracebackWriterOptions, 'sink'>) {
  clock = new FakeClock();
  const log = captureLog();
  writer = new TracebackWriter({
    queueMax: 100,
    batchMax: 10,
    flushMs: 200,
    logger: log.logger,
    clock,
    ...o,
  });
  writer.subscribe((key) => key.startsWith('run-'));
  return { writer, clock, lines: log.lines };
}

describe('TracebackWriter', () => {
  it("takes only its own element's records from the process-wide channel", async () => {
    const batches: TracebackEvent[][] = [];
    const { clock: c } = start({
      sink: async (b) => {
        batches.push([...b]);
      },
    });
    tracebackChannel.publish({ ...call(1), key: 'other-element-1' });
    tracebackChannel.publish(call(2));
    c.advance(200);
    await settle();
    expect(batches.flat().map((e) => e.key)).toEqual(['run-2']);
  });

  it('hands what the call path publishes to the sink in batches: batch_max at once, the rest after flush_ms', async () => {
    const batches: TracebackEvent[][] = [];
    const { writer: w, clock: c } = start({
      sink: async (b) => {
        batches.push([...b]);
      },
    });
    for (let i = 0; i < 25; i++) tracebackChannel.publish(call(i));
    expect(batches).toEqual([]); // never inline on the publisher's stack
    c.advance(0);
    await settle();
    c.advance(0);
    await settle();
    expect(batches.map((b) => b.length)).toEqual([10, 10]);
    c.advance(199);
    await settle();
    expect(batches).toHaveLength(2);
    c.advance(1);
    await settle();
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(batches.flat().map((e) => e.key)).toEqual(Array.from({ length: 25 }, (_, i) => `run-${i}`));
    expect(batches[0]![0]).toBe(batches.flat()[0]); // the published object itself, not a copy
    expect(w.stats()).toMatchObject({ queued: 0, written: 25, dropped: { queue_full: 0, store_error: 0 } });
  });

  it('past queue_max drops and counts, logging at most once a second with the count', async () => {
    // A sink that never completes: the store is stuck.
    const { writer: w, clock: c, lines } = start({ sink: () => new Promise<void>(() => {}), queueMax: 30 });
    for (let i = 0; i < 50; i++) tracebackChannel.publish(call(i));
    expect(w.stats()).toMatchObject({ queued: 30, dropped: { queue_full: 20 } });
    c.advance(0); // one batch goes in flight: still held, still counted against the bound
    await settle();
    for (let i = 50; i < 60; i++) tracebackChannel.publish(call(i));
    expect(w.stats()).toMatchObject({ queued: 30, dropped: { queue_full: 30 } });
    const drops = () => lines.filter((l) => l.event === 'traceback_dropped');
    expect(drops().map((l) => l.dropped)).toEqual([1]); // the first drop at once
    c.advance(999);
    expect(drops()).toHaveLength(1);
    c.advance(1);
    expect(drops().map((l) => l.dropped)).toEqual([1, 29]);
    c.advance(5000); // quiet: no more lines
    expect(drops()).toHaveLength(2);
  });

  it('retries a batch the store rejected, then drops it counted as store_error', async () => {
    let attempts = 0;
    let failUntil = 2;
    const stored: string[] = [];
    const { writer: w, clock: c } = start({
      sink: async (b) => {
        attempts++;
        if (attempts <= failUntil) throw new Error('SQLITE_IOERR');
        stored.push(...b.map((e) => e.key));
      },
      retries: 3,
      retryMs: 100,
    });
    for (let i = 0; i < 3; i++) tracebackChannel.publish(call(i));
    c.advance(200);
    await settle();
    c.advance(100);
    await settle();
    c.advance(200);
    await settle();
    expect(stored).toEqual(['run-0', 'run-1', 'run-2']); // third attempt: the same batch, once
    expect(w.stats()).toMatchObject({ written: 3, sinkErrors: 2, dropped: { store_error: 0 } });

    failUntil = Number.POSITIVE_INFINITY;
    tracebackChannel.publish(call(3));
    c.advance(200);
    for (const ms of [100, 200, 400]) {
      await settle();
      c.advance(ms);
    }
    await settle();
    expect(w.stats()).toMatchObject({ written: 3, sinkErrors: 6, queued: 0, dropped: { store_error: 1 } });
  });

  it('close flushes what is queued; what a stuck store still holds after close_ms is counted as closed', async () => {
    const stored: string[] = [];
    const { writer: w } = start({
      sink: async (b) => {
        stored.push(...b.map((e) => e.key));
      },
    });
    for (let i = 0; i < 15; i++) tracebackChannel.publish(call(i));
    await w.close();
    expect(stored).toHaveLength(15);
    tracebackChannel.publish(call(99)); // unsubscribed: not seen
    expect(w.stats()).toMatchObject({ written: 15, queued: 0 });
    writer = undefined;

    const stuck = start({ sink: () => new Promise<void>(() => {}), closeMs: 1000 });
    for (let i = 0; i < 15; i++) tracebackChannel.publish(call(i));
    const closing = stuck.writer.close();
    await settle();
    stuck.clock.advance(1000);
    await closing;
    expect(stuck.writer.stats()).toMatchObject({ queued: 0, written: 0, dropped: { closed: 15 } });
  });
});

// The writer into the store thread on a real SQLite file: what the call path publishes is in the file after
// close, queries run in the thread, and a file that is not a database fails the open with its message.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type TracebackCallEvent, tracebackChannel } from '../../../src/events.js';
import { createLogger } from '../../../src/log/logger.js';
import { TracebackQueryError } from '../../../src/traceback/errors.js';
import { StoreThreadError, TracebackStoreThread } from '../../../src/traceback/store-thread.js';
import { TracebackWriter } from '../../../src/traceback/writer.js';
import { ORIGID, signedCall } from './traceback-fixtures.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A signed call at `time`, keyed `thread-<n>` (Call-IDs `a-leg-<n>@192.0.2.10` / `b-leg-<n>@stirgate`). */
function call(n: number, time: number): TracebackCallEvent {
  const signed = {
    attest: 'A',
    origid: ORIGID,
    iat: Math.floor(time / 1000),
    digest: `digest-${n}`,
  } as const;
  return signedCall(n, { key: `thread-${n}`, time, signed });
}

describe('TracebackWriter into TracebackStoreThread', () => {
  it('stores what is published, in batches, and answers queries from the thread', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-tb-thread-'));
    const file = join(dir, 'traceback.db');
    const store = await TracebackStoreThread.open({ file, retentionDays: 90 });
    const writer = new TracebackWriter({
      sink: async (b) => {
        await store.write(b);
      },
      queueMax: 10_000,
      batchMax: 100,
      flushMs: 20,
      logger: createLogger({ level: 'silent' }),
    });
    writer.subscribe(() => true);
    const now = Date.now();
    for (let i = 0; i < 250; i++) tracebackChannel.publish(call(i, now - i));
    tracebackChannel.publish({
      kind: 'end',
      key: 'thread-7',
      time: now + 5000,
      answered: true,
      status: 200,
      durationMs: 4000,
      cause: 'bye',
    });
    await writer.close();
    expect(writer.stats()).toMatchObject({ written: 251, queued: 0 });

    const r = await store.query({ by: 'callId', callId: 'a-leg-7@192.0.2.10', limit: 5 });
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({
      id: 'thread-7',
      customer: 'acme',
      bCallId: 'b-leg-7@stirgate',
      end: { answered: true, durationMs: 4000, cause: 'bye' },
    });
    const byNumbers = await store.query({
      by: 'numbers',
      orig: '12025550100',
      window: { from: now - 1000, to: now },
      limit: 1000,
    });
    expect(byNumbers.records).toHaveLength(250);
    // The store's typed errors cross the thread as themselves, with their code.
    const refused = await store
      .query({ by: 'numbers', orig: '12025550100', window: { from: now, to: now - 1000 }, limit: 10 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TracebackQueryError);
    expect((refused as TracebackQueryError).code).toBe('window_inverted');
    await store.close();
    await expect(store.write([call(999, now)])).rejects.toMatchObject({ code: 'store_thread_down' });

    // The file outlives the thread: a new one finds the records.
    const again = await TracebackStoreThread.open({ file, retentionDays: 90 });
    const found = await again.query({
      by: 'digest',
      digest: 'digest-42',
      iat: Math.floor((now - 42) / 1000),
      limit: 5,
    });
    expect(found.records.map((x) => x.id)).toEqual(['thread-42']);
    await again.close();
  });

  it('a file that is not a database fails the open with the store message, and leaves no thread', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-tb-thread-'));
    const file = join(dir, 'traceback.db');
    await writeFile(
      file,
      'this is not an SQLite database, just text long enough to have a header'.repeat(20),
    );
    const err = await TracebackStoreThread.open({ file, retentionDays: 90 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreThreadError);
    expect((err as StoreThreadError).code).toBe('store_open_failed');
    expect((err as Error).message).toContain(file);
  });
});

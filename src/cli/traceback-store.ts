import { SqliteTracebackStore } from '../traceback/sqlite-store.js';
import type { TracebackStore } from '../traceback/store.js';

/**
 * The store `stirgate traceback` reads: the element's SQLite file, opened read-only in this process (WAL lets it
 * read while the element writes; it never migrates or writes). Loaded lazily by src/cli/main.ts, so node:sqlite
 * is never linked before the Node.js version guard has run.
 */
export async function openTracebackStoreReadOnly(file: string): Promise<TracebackStore> {
  return SqliteTracebackStore.open(file, { readOnly: true });
}

/** The element's store file (`traceback.file`, default `<data_dir>/traceback.db`). */
export { tracebackFile as tracebackStoreFile } from '../app/traceback-service.js';

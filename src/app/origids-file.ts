import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, missingOrigids, withOrigids } from '../config/index.js';
import { StartupError } from './startup-error.js';

/**
 * `<data_dir>/origids.json`: the origid generated for each customer configured without one. ATIS-1000074
 * §5.2.4 wants origid stable per customer, and traceback finds the customer of an earlier call by it, so the
 * file is never silently replaced: a missing file is created, a corrupt or wrong-shaped one stops the start
 * (`StartupError` code `data_dir`, the message names the file and what is wrong).
 *
 * Lives here, not in src/config/, because it does state I/O in data_dir and refuses with a StartupError;
 * config only reads and validates the configuration file.
 */
export const ORIGIDS_FILE = 'origids.json';

/** RFC 9562 §4 textual UUID, as the configuration's `origid` accepts it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Fill in the origid of every customer configured without one from the file, generating (and keeping) new ones. */
export async function ensureOrigids(config: Config): Promise<Config> {
  const missing = missingOrigids(config);
  if (missing.length === 0) return config;
  const file = join(config.dataDir, ORIGIDS_FILE);
  const kept = await readOrigids(file);
  let changed = false;
  for (const name of missing) {
    if (kept[name] === undefined) {
      kept[name] = randomUUID();
      changed = true;
    }
  }
  if (changed) await writeOrigids(file, kept);
  const fill: Record<string, string> = {};
  for (const name of missing) fill[name] = kept[name]!;
  return withOrigids(config, fill);
}

/** The file's `customer name -> origid` map; `{}` when there is no file yet. */
export async function readOrigids(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw refused(file, `cannot be read (${(cause as Error).message})`, cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw refused(file, `is not JSON (${(cause as Error).message})`, cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw refused(file, 'is not a JSON object of customer name -> origid UUID');
  const out: Record<string, string> = {};
  for (const [name, id] of Object.entries(parsed)) {
    if (typeof id !== 'string' || !UUID.test(id))
      throw refused(file, `customer ${JSON.stringify(name)}: ${JSON.stringify(id)} is not a UUID`);
    out[name] = id;
  }
  return out;
}

/** Replace the file atomically (write a sibling, then rename over it), readable by the owner only. */
async function writeOrigids(file: string, origids: Readonly<Record<string, string>>): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(origids, null, 2)}\n`, { encoding: 'utf8', mode: 0o600 });
    await rename(tmp, file);
  } catch (cause) {
    throw new StartupError('data_dir', `${file}: cannot be written (${(cause as Error).message})`, { cause });
  }
}

function refused(file: string, what: string, cause?: unknown): StartupError {
  return new StartupError(
    'data_dir',
    `${file} ${what}; fix it or restore it from a backup (deleting it gives every customer without a ` +
      'configured origid a new one, and calls signed before can no longer be traced to them)',
    cause === undefined ? undefined : { cause },
  );
}

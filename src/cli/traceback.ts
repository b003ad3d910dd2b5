/**
 * `stirgate traceback`: find calls on record (docs/traceback.md). Opens the store file read-only in this
 * process, so it answers for a running element (SQLite WAL: readers never block the writer) or a stopped one.
 *
 *   --identity FILE|-     a pasted Identity header value or a whole SIP message (`-`: stdin)
 *   --origid UUID         with --from [--to]
 *   --orig N [--dest N]   with --from [--to]
 *   --call-id ID          either leg
 *   --from/--to T         ISO 8601 (with a zone), `now`, or relative `-30m`, `-2h`, `-7d`; --to defaults to now
 *   --limit N             1..1000, default 100
 *   --json                the records as a JSON array (the API's field names); otherwise a table
 *   --config FILE         the element's configuration (none: the embedded default's)
 *
 * Exit codes: 0 found, 1 nothing found, 2 bad input or no store (the message says which; never a stack trace).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { recordJson } from '../admin/traceback-json.js';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  parseTime,
  type TracebackParams,
  TracebackRequestError,
  tracebackQuery,
} from '../admin/traceback-request.js';
import { type Config, ConfigError, loadConfig } from '../config/index.js';
import { StirgateError } from '../errors.js';
import { IdentityInputError, lookupIdentity } from '../traceback/identity-lookup.js';
import type { TracebackRecord } from '../traceback/record.js';
import { VERSION } from '../version.js';
import { openTracebackStoreReadOnly, tracebackStoreFile } from './traceback-store.js';
import { recordsTable } from './traceback-table.js';

export const TRACEBACK_USAGE = `usage: stirgate traceback (--identity FILE|- | --origid UUID | --orig NUMBER [--dest NUMBER] | --call-id ID)
                          [--from TIME] [--to TIME] [--limit N] [--json] [--config FILE]
  TIME: ISO 8601 with a zone (2026-12-07T10:00:00Z), a date (UTC), now, or relative: -30m, -2h, -7d
  --origid and --orig need --from (--to defaults to now); exit 0 found, 1 nothing found, 2 bad input`;

export interface TracebackIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: () => Promise<string>;
  readonly now: () => number;
  readonly env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  identity: { type: 'string' },
  origid: { type: 'string' },
  orig: { type: 'string' },
  dest: { type: 'string' },
  'call-id': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Bad input on the command line: the message goes to stderr, exit 2. */
class TracebackUsageError extends StirgateError<'bad_input'> {
  constructor(message: string) {
    super('bad_input', message);
  }
}

export async function tracebackCommand(
  argv: readonly string[],
  io: TracebackIo = processIo(),
): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof StirgateError) {
      io.stderr(`stirgate traceback: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function run(argv: readonly string[], io: TracebackIo): Promise<number> {
  const args = parseCommandLine(argv);
  if (args.help === true) {
    io.stdout(`${TRACEBACK_USAGE}\n`);
    return 0;
  }
  const limit = args.limit === undefined ? DEFAULT_LIMIT : Number(args.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new TracebackUsageError(`--limit: 1..${MAX_LIMIT}`);
  // Check the whole command line before touching the configuration or the store.
  const identity = args.identity;
  const search = identity === undefined ? searchQuery(args, limit, io.now()) : undefined;
  if (
    identity !== undefined &&
    (args.origid ?? args.orig ?? args.dest ?? args['call-id'] ?? args.from ?? args.to) !== undefined
  ) {
    throw new TracebackUsageError('--identity goes alone (with --limit, --json, --config)');
  }
  const input = identity === undefined ? undefined : await readInput(identity, io);
  const config = await configOf(args.config, io.env);
  const store = await openTracebackStoreReadOnly(tracebackStoreFile(config));
  try {
    if (input !== undefined) {
      const r = await lookupIdentity(input, store, limit);
      if (r instanceof IdentityInputError) throw new TracebackUsageError(`${r.code}: ${r.message}`);
      const how =
        r.matchedBy === 'digest'
          ? 'matched by digest: a PASSporT this element signed'
          : r.matchedBy === 'claims'
            ? 'matched by claims (origid, iat, numbers): a PASSporT this element verified or passed on'
            : `nothing on record for this PASSporT${r.unsearchable !== undefined ? ` (${r.unsearchable.message})` : ''}`;
      io.stderr(
        `ppt=${r.passport.ppt ?? '?'} origid=${r.claims?.origid ?? '?'} iat=${r.claims?.iat ?? '?'}: ${how}\n`,
      );
      return print(r.records, r.truncated, args.json === true, io);
    }
    const q = await store.query(search!);
    return print(q.records, q.truncated, args.json === true, io);
  } finally {
    await store.close();
  }
}

type Args = ReturnType<typeof parseCommandLine>;

/** `-2h` is a relative time, not a flag: parseArgs would refuse `--from -2h`, so it becomes `--from=-2h`. */
const RELATIVE_TIME = /^-\d+[smhd]$/;

function parseCommandLine(argv: readonly string[]) {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if ((a === '--from' || a === '--to') && next !== undefined && RELATIVE_TIME.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  try {
    return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new TracebackUsageError(`${(err as Error).message}\n${TRACEBACK_USAGE}`);
  }
}

function searchQuery(args: Args, limit: number, now: number) {
  const time = (flag: 'from' | 'to'): number | undefined => {
    const text = args[flag];
    if (text === undefined) return undefined;
    const t = parseTime(text, now, true);
    if (t === undefined)
      throw new TracebackUsageError(
        `--${flag}: ${JSON.stringify(text)} is not a time (ISO 8601 with a zone, now, -2h, -7d)`,
      );
    return t;
  };
  const params: TracebackParams = {
    ...(args.origid !== undefined ? { origid: args.origid } : {}),
    ...(args.orig !== undefined ? { orig: args.orig } : {}),
    ...(args.dest !== undefined ? { dest: args.dest } : {}),
    ...(args['call-id'] !== undefined ? { call_id: args['call-id'] } : {}),
    ...optional('from', time('from')),
    ...optional('to', time('to')),
    limit,
  };
  const q = tracebackQuery(params, now);
  if (q instanceof TracebackRequestError) {
    if (q.code === 'missing_parameter') {
      if (args.dest !== undefined) throw new TracebackUsageError('--dest needs --orig');
      throw new TracebackUsageError(`give --identity, --origid, --orig or --call-id\n${TRACEBACK_USAGE}`);
    }
    throw new TracebackUsageError(`--${q.path.replace('_', '-')}: ${q.message}`);
  }
  return q;
}

function optional<K extends string>(key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: number };
}

async function readInput(file: string, io: TracebackIo): Promise<string> {
  try {
    return file === '-' ? await io.stdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new TracebackUsageError(`--identity: cannot read ${file}: ${(err as Error).message}`);
  }
}

async function configOf(file: string | undefined, env: NodeJS.ProcessEnv): Promise<Config> {
  try {
    return await loadConfig({ ...(file !== undefined ? { file } : {}), env, version: VERSION });
  } catch (err) {
    if (err instanceof ConfigError) throw new TracebackUsageError(err.message);
    throw err;
  }
}

function print(
  records: readonly TracebackRecord[],
  truncated: boolean,
  json: boolean,
  io: TracebackIo,
): number {
  if (json) io.stdout(`${JSON.stringify(records.map(recordJson), null, 2)}\n`);
  else if (records.length > 0) io.stdout(`${recordsTable(records)}\n`);
  if (records.length === 0) io.stderr('no record found\n');
  if (truncated)
    io.stderr(`more records match than the ${records.length} shown: raise --limit or narrow --from/--to\n`);
  return records.length > 0 ? 0 : 1;
}

function processIo(): TracebackIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    now: Date.now,
    env: process.env,
  };
}

/**
 * `stirgate block add|list|remove` (docs/operations.md "Blocks, limits and the audit log"): a client of the
 * admin API (ADMIN-API.md), so a change takes the same path as any other: validated, audited, published to
 * every worker. The URL is the configuration's `admin.listen` (or `--url`), the token the first of the token
 * file (`admin.token_file`, or `--token-file`): its name is the actor on record.
 *
 * Exit codes: 0 done, 1 refused by the API or the API unreachable (its error code, message and field are
 * printed), 2 bad command line or configuration.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { blockJson } from '../admin/control-json.js';
import { parseTokenFile } from '../admin/token-file.js';
import { adminTokenFile } from '../app/admin-service.js';
import { type Config, ConfigError, loadConfig } from '../config/index.js';
import { StirgateError } from '../errors.js';
import { BLOCK_MATCH_KINDS } from '../policy/controls.js';
import { VERSION } from '../version.js';

export const BLOCK_USAGE = `usage:
  stirgate block add (--calling N | --called N | --customer NAME | --origid UUID | --spc SPC | --trunk NAME)
                     --action reject|mark --reason TEXT --ticket TEXT [--expires ISO-8601] [--json]
  stirgate block list [--all] [--json]
  stirgate block remove ID [--reason TEXT] [--json]
  each with [--config FILE] [--url http://HOST:PORT] [--token-file FILE]
  N: an E.164 number (+12025550123) or prefix (+1202*); exit 0 done, 1 refused, 2 bad command line`;

export interface BlockIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly fetch: typeof fetch;
}

const OPTIONS = {
  calling: { type: 'string' },
  called: { type: 'string' },
  customer: { type: 'string' },
  origid: { type: 'string' },
  spc: { type: 'string' },
  trunk: { type: 'string' },
  action: { type: 'string' },
  reason: { type: 'string' },
  ticket: { type: 'string' },
  expires: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  url: { type: 'string' },
  'token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Args = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Which flags each subcommand takes besides the common ones. */
const TAKES = {
  add: [...BLOCK_MATCH_KINDS, 'action', 'reason', 'ticket', 'expires'],
  list: ['all'],
  remove: ['reason'],
} as const;
const COMMON = ['json', 'config', 'url', 'token-file', 'help'];

class BlockUsageError extends StirgateError<'bad_input'> {
  constructor(message: string) {
    super('bad_input', message);
  }
}

/** The API said no (or could not be reached). */
class BlockRefused extends StirgateError<'refused'> {
  constructor(message: string) {
    super('refused', message);
  }
}

export async function blockCommand(argv: readonly string[], io: BlockIo = processIo()): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof BlockRefused) {
      io.stderr(`stirgate block: ${err.message}\n`);
      return 1;
    }
    if (err instanceof StirgateError) {
      io.stderr(`stirgate block: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function run(argv: readonly string[], io: BlockIo): Promise<number> {
  const { sub, id, args } = commandLine(argv);
  if (args.help === true || sub === undefined) {
    io.stdout(`${BLOCK_USAGE}\n`);
    return sub === undefined && args.help !== true ? 2 : 0;
  }
  const api = await apiOf(args, io);
  if (sub === 'add') {
    const kinds = BLOCK_MATCH_KINDS.filter((k) => args[k] !== undefined);
    if (kinds.length !== 1)
      throw new BlockUsageError(`give exactly one of ${BLOCK_MATCH_KINDS.map((k) => `--${k}`).join(', ')}`);
    const body = {
      match: { [kinds[0]!]: args[kinds[0]!] },
      action: args.action,
      reason: args.reason,
      ticket: args.ticket,
      ...(args.expires !== undefined ? { expires: args.expires } : {}),
    };
    const b = await api('POST', '/v1/blocks', body);
    io.stdout(args.json === true ? `${JSON.stringify(b, null, 2)}\n` : `${blocksTable([b as BlockJson])}\n`);
    return 0;
  }
  if (sub === 'list') {
    const r = (await api('GET', `/v1/blocks${args.all === true ? '?all=true' : ''}`)) as {
      blocks: BlockJson[];
    };
    if (args.json === true) io.stdout(`${JSON.stringify(r.blocks, null, 2)}\n`);
    else if (r.blocks.length === 0) io.stderr('no blocks\n');
    else io.stdout(`${blocksTable(r.blocks)}\n`);
    return 0;
  }
  const b = (await api(
    'DELETE',
    `/v1/blocks/${encodeURIComponent(id!)}`,
    args.reason !== undefined ? { reason: args.reason } : undefined,
  )) as BlockJson;
  io.stdout(args.json === true ? `${JSON.stringify(b, null, 2)}\n` : `${blocksTable([b])}\n`);
  return 0;
}

function commandLine(argv: readonly string[]): {
  sub: keyof typeof TAKES | undefined;
  id: string | undefined;
  args: Args;
} {
  let parsed: { values: Args; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new BlockUsageError(`${(err as Error).message}\n${BLOCK_USAGE}`);
  }
  const [sub, id, ...rest] = parsed.positionals;
  if (sub === undefined) return { sub: undefined, id: undefined, args: parsed.values };
  if (!Object.hasOwn(TAKES, sub)) throw new BlockUsageError(`unknown subcommand ${sub}\n${BLOCK_USAGE}`);
  const s = sub as keyof typeof TAKES;
  const takes: readonly string[] = [...TAKES[s], ...COMMON];
  const wrong = Object.keys(parsed.values).filter((k) => !takes.includes(k));
  if (wrong.length > 0) throw new BlockUsageError(`block ${s} does not take --${wrong.join(', --')}`);
  if (s === 'remove' ? id === undefined || rest.length > 0 : id !== undefined)
    throw new BlockUsageError(
      s === 'remove' ? 'block remove takes one block id' : `block ${s} takes no argument`,
    );
  return { sub: s, id, args: parsed.values };
}

type Api = (method: string, path: string, body?: unknown) => Promise<unknown>;

async function apiOf(args: Args, io: BlockIo): Promise<Api> {
  const config =
    args.url !== undefined && args['token-file'] !== undefined ? undefined : await configOf(args, io);
  const base = args.url ?? urlOf(config!);
  const file = args['token-file'] ?? adminTokenFile(config!);
  let token: string;
  try {
    const first = parseTokenFile(await readFile(file, 'utf8'), file)[0];
    if (first === undefined) throw new Error('no token in it');
    token = first.token;
  } catch (err) {
    throw new BlockUsageError(`cannot read a token from ${file}: ${(err as Error).message}`);
  }
  return async (method, path, body) => {
    let res: Response;
    try {
      res = await io.fetch(new URL(path, base), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new BlockRefused(`cannot reach the admin API at ${base}: ${(err as Error).message}`);
    }
    const answer = (await res.json().catch(() => ({}))) as {
      error?: { code: string; message: string; path?: string };
    };
    if (!res.ok) {
      const e = answer.error;
      if (e === undefined) throw new BlockRefused(`HTTP ${res.status}`);
      throw new BlockRefused(`${e.code}: ${e.message}${e.path !== undefined ? ` (${e.path})` : ''}`);
    }
    return answer;
  };
}

async function configOf(args: Args, io: BlockIo): Promise<Config> {
  try {
    return await loadConfig({
      ...(args.config !== undefined ? { file: args.config } : {}),
      env: io.env,
      version: VERSION,
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new BlockUsageError(err.message);
    throw err;
  }
}

/** `admin.listen` as a URL; a wildcard address is reached on loopback. */
function urlOf(config: Config): string {
  const l = config.admin.listen;
  if (l === undefined) throw new BlockUsageError('admin.listen is off in this configuration: give --url');
  const address = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
  return `http://${address.includes(':') ? `[${address}]` : address}:${l.port}`;
}

type BlockJson = ReturnType<typeof blockJson>;

const COLUMNS = ['ID', 'MATCH', 'ACTION', 'EXPIRES', 'ACTOR', 'CREATED', 'TICKET', 'REASON'] as const;

/** What a person reads: one row per block; a removed one says so in its ACTION column. */
export function blocksTable(blocks: readonly BlockJson[]): string {
  const time = (iso: string | null) => (iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
  const rows = blocks.map((b) => [
    b.id,
    Object.entries(b.match)
      .map(([k, v]) => `${k}=${v}`)
      .join(''),
    b.removed === null ? b.action : `${b.action} (removed ${time(b.removed.time)} by ${b.removed.actor})`,
    time(b.expires),
    b.actor,
    time(b.created),
    b.ticket,
    b.reason,
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)].join('\n');
}

function processIo(): BlockIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    fetch,
  };
}

import { Worker } from 'node:worker_threads';
import { type CrashKind, writeCrasher } from './crashers.js';
import type { FuzzTargetName } from './fuzz-target.js';
import { isTargetName, TARGET_NAMES } from './targets.js';
import { createWatchSlots, readInput, startedCount } from './watch-slots.js';
import type { WorkerInput, WorkerMessage } from './worker.js';

/**
 * `npm run fuzz -- --minutes N [--target NAME]... [--hang-ms MS] [--round-s S] [--seed N]`
 *
 * Feeds generated and mutated inputs to each target in turn (fuzz/targets.ts), rounds of `--round-s`
 * seconds, for N minutes, in a worker thread; this thread is the watchdog. A crash (an exception other
 * than the target's declared error, or a broken invariant) is shrunk and kept in
 * test/fixtures/fuzz-crashers/<target>/; so is a hang (one input running over `--hang-ms`), after which
 * the worker is replaced and that target left out. Exit 0 when nothing was found, 1 otherwise, 2 on a bad
 * command line.
 */
interface Options {
  minutes: number;
  targets: FuzzTargetName[];
  hangMs: number;
  roundMs: number;
  seed: number;
}

function parseArgs(argv: readonly string[]): Options | string {
  const o: Options = { minutes: 1, targets: [], hangMs: 2000, roundMs: 5000, seed: Date.now() % 2 ** 31 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = argv[++i];
    if (v === undefined) return `${flag} needs a value`;
    const num = Number(v);
    if (flag === '--target') {
      if (!isTargetName(v)) return `unknown target ${v} (one of ${TARGET_NAMES.join(', ')})`;
      o.targets.push(v);
    } else if (!Number.isFinite(num) || num <= 0) {
      return `${flag}: ${v} is not a positive number`;
    } else if (flag === '--minutes') o.minutes = num;
    else if (flag === '--hang-ms') o.hangMs = num;
    else if (flag === '--round-s') o.roundMs = num * 1000;
    else if (flag === '--seed') o.seed = Math.floor(num);
    else return `unknown option ${flag}`;
  }
  if (o.targets.length === 0) o.targets = [...TARGET_NAMES];
  return o;
}

interface Finding {
  readonly target: FuzzTargetName;
  readonly kind: CrashKind;
  readonly error: string;
  readonly file: string;
  count: number;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof opts === 'string') {
    console.error(`fuzz: ${opts}`);
    return 2;
  }
  const deadline = performance.now() + opts.minutes * 60_000;
  const runs = new Map<FuzzTargetName, number>(opts.targets.map((t) => [t, 0]));
  const findings = new Map<string, Finding>();
  let active = [...opts.targets];
  let seed = opts.seed;
  console.log(
    `fuzz: ${opts.minutes} min over ${active.join(', ')}; rounds of ${opts.roundMs / 1000} s, hang bound ${opts.hangMs} ms, seed ${opts.seed}`,
  );

  const record = (target: FuzzTargetName, kind: CrashKind, input: Uint8Array, error: string): void => {
    // One finding per target, kind and error (message and top frame); repeats are only counted.
    const key = `${target}\n${kind}\n${error.split('\n').slice(0, 2).join('\n')}`;
    const seen = findings.get(key);
    if (seen !== undefined) {
      seen.count++;
      return;
    }
    const file = writeCrasher(target, kind, input, `${kind} in ${target} (seed ${opts.seed}):\n${error}`);
    findings.set(key, { target, kind, error, file, count: 1 });
    console.log(`fuzz: ${kind} in ${target}, kept as ${file}\n  ${error.replaceAll('\n', '\n  ')}`);
  };

  while (active.length > 0 && performance.now() < deadline) {
    const slots = createWatchSlots();
    const data: WorkerInput = { targets: active, roundMs: opts.roundMs, seed, slots };
    seed += 1000;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
    const hung = await new Promise<{ target: FuzzTargetName; input: Uint8Array } | undefined>(
      (resolve, reject) => {
        let last = startedCount(slots);
        let lastMove = performance.now();
        const names = active;
        const timer = setInterval(() => {
          const now = performance.now();
          const started = startedCount(slots);
          if (started !== last) {
            last = started;
            lastMove = now;
          } else if (now - lastMove > opts.hangMs) {
            const r = readInput(slots);
            clearInterval(timer);
            resolve({ target: names[r.target]!, input: r.input });
            return;
          }
          if (now >= deadline) {
            clearInterval(timer);
            resolve(undefined);
          }
        }, 50);
        worker.on('message', (m: WorkerMessage) => {
          runs.set(m.target, (runs.get(m.target) ?? 0) + m.runs);
          if (m.crash !== undefined) record(m.target, 'crash', m.crash.input, m.crash.error);
        });
        worker.on('error', (err) => {
          clearInterval(timer);
          reject(err);
        });
      },
    );
    await worker.terminate();
    if (hung !== undefined) {
      record(hung.target, 'hang', hung.input, `one input ran over ${opts.hangMs} ms`);
      active = active.filter((t) => t !== hung.target);
    }
  }

  console.log('\ntarget            inputs     crashes  hangs');
  for (const t of opts.targets) {
    const mine = [...findings.values()].filter((f) => f.target === t);
    const n = (k: CrashKind) => mine.filter((f) => f.kind === k).length;
    console.log(
      `${t.padEnd(17)} ${String(runs.get(t) ?? 0).padStart(10)} ${String(n('crash')).padStart(8)} ${String(n('hang')).padStart(6)}`,
    );
  }
  const total = [...runs.values()].reduce((a, b) => a + b, 0);
  console.log(`total ${total} inputs in ${opts.minutes} min; ${findings.size} distinct finding(s)`);
  for (const f of findings.values()) console.log(`  ${f.kind} ${f.target} x${f.count}: ${f.file}`);
  return findings.size === 0 ? 0 : 1;
}

process.exitCode = await main();

/**
 * Verification benchmark (RFC 8224 §6.2 verification service core), with raw synchronous `crypto.verify`
 * measured in the same run as the baseline: the verifier checks the signature on the event loop by default
 * (`stir.verification.signature_check: event_loop`, docs/performance.md "Where verification runs"). Build and run:
 *
 *   npx tsc -p tsconfig.build.json && node_modules/.bin/node dist/bench/verify.js [--write-doc]
 *
 * - runtime: first, raw synchronous P-256 crypto.sign / crypto.verify rates of this Node (bench/runtime-crypto.ts).
 * - warm: every certificate already cached; distinct PASSporTs (so replay never short-circuits), N calls kept
 *   at concurrency 64 and 1; rate compared with crypto.verify on the same tokens at the same concurrency.
 * - cold: N=200 concurrent calls for one x5u URL on an empty cache against a loopback x5u server: fetches made,
 *   time to the first and the last result.
 * `--write-doc` rewrites the section between `<!-- verify:start -->` and `<!-- verify:end -->` in
 * docs/performance.md. Bounded: the whole run stops itself after 20 s.
 */
import { createPrivateKey, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CertCache } from '../src/stir/certs/cert-cache.js';
import { fetchX5u } from '../src/stir/certs/fetch.js';
import { TrustStore } from '../src/stir/certs/trust.js';
import { createX5uPolicy } from '../src/stir/certs/x5u-policy.js';
import { createDevPki } from '../src/stir/pki/dev-pki.js';
import { startX5uServer } from '../src/stir/pki/x5u-server.js';
import { MemoryReplayStore } from '../src/stir/replay-store.js';
import { Signer } from '../src/stir/signer.js';
import { Verifier } from '../src/stir/verifier.js';
import { formatRuntimeCrypto, measureRuntimeCrypto, type RuntimeCrypto } from './runtime-crypto.js';

const ORIG = '12025550100';
const DEST = '12025550101';
/** Timed rounds per concurrency; verifier and baseline alternate inside each round, medians are reported. */
const ROUNDS = 5;
const ROUND_OPS_64 = 1_500;
const ROUND_OPS_1 = 300;
const WARM_OPS_64 = ROUNDS * ROUND_OPS_64;
const WARM_OPS_1 = ROUNDS * ROUND_OPS_1;
const COLD_N = 200;
const DEADLINE_MS = 20_000;

interface Rate {
  readonly ops: number;
  readonly ms: number;
  readonly perSec: number;
}

/** Run `ops` async operations keeping `concurrency` in flight. */
async function drive(ops: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Rate> {
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < ops) {
      const i = next++;
      await op(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, worker));
  const ms = performance.now() - t0;
  return { ops, ms, perSec: (ops * 1000) / ms };
}

function median(rates: Rate[]): Rate {
  const sorted = [...rates].sort((a, b) => a.perSec - b.perSec);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return { ops: rates.reduce((n, r) => n + r.ops, 0), ms: mid.ms, perSec: mid.perSec };
}

/** The baseline: the same ES256 check the verifier makes, synchronously, with nothing around it. */
function rawVerify(input: Buffer, sig: Buffer, key: KeyObject): boolean {
  return cryptoVerify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

export interface VerifyBenchResult {
  readonly warm64: Rate;
  readonly raw64: Rate;
  readonly warm1: Rate;
  readonly raw1: Rate;
  readonly cold: {
    readonly n: number;
    readonly fetches: number;
    readonly firstMs: number;
    readonly lastMs: number;
    readonly passed: number;
  };
  readonly env: string;
  readonly runtime: RuntimeCrypto;
}

export async function main(opts: { writeDoc?: boolean } = {}): Promise<VerifyBenchResult> {
  const deadline = setTimeout(() => {
    console.error('verify bench: 20 s deadline reached, aborting');
    process.exit(2);
  }, DEADLINE_MS);
  deadline.unref();
  // First, on an idle process: the raw rate of this runtime (bench/runtime-crypto.ts).
  const runtime = measureRuntimeCrypto();
  console.log(formatRuntimeCrypto(runtime));
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-bench-verify-'));
  const pki = await createDevPki(dir);
  const server = await startX5uServer({ files: { 'sp.pem': pki.spChainPem } });
  try {
    const x5u = server.url('sp.pem');
    const policy = createX5uPolicy({ allowHttp: true, ports: 'any', allowCidrs: ['127.0.0.1/32'] });
    const trust = TrustStore.fromPem(pki.caPem);
    const makeVerifier = (): { verifier: Verifier; cache: CertCache } => {
      const cache = new CertCache({
        trust,
        fetch: (u) => fetchX5u(u, { timeoutMs: 2000, maxBodyBytes: 16384, policy }),
      });
      const verifier = new Verifier({
        trust,
        cache,
        replay: new MemoryReplayStore({ max: 100_000 }),
        x5uPolicy: policy,
      });
      return { verifier, cache };
    };

    // Distinct tokens: signing ~25k takes well under a second on the threadpool.
    const signer = new Signer({ privateKey: createPrivateKey(pki.spKeyPem), x5u });
    // [0] warm-up check, [1..200] verifier warm-up, then the timed slices, then the cold slice.
    const total = 201 + WARM_OPS_64 + WARM_OPS_1 + COLD_N;
    const identities: string[] = new Array(total);
    await drive(total, 64, async (i) => {
      const r = await signer.sign({ attest: 'A', origTn: ORIG, destTns: [DEST], origid: 'bench-origid' });
      if (!r.ok) throw new Error(`sign: ${r.code}`);
      identities[i] = r.identity;
    });
    const pubKey = createPublicKey(pki.spCertPem);
    const split = identities.map((id) => {
      const jws = id.slice(0, id.indexOf(';'));
      const d = jws.lastIndexOf('.');
      return { input: jws.slice(0, d), sig: Buffer.from(jws.slice(d + 1), 'base64url') };
    });

    // Cold: COLD_N concurrent calls for one URL on an empty cache.
    const cold = makeVerifier();
    const coldIds = identities.slice(total - COLD_N);
    const t0 = performance.now();
    let firstMs = 0;
    let lastMs = 0;
    let passed = 0;
    await Promise.all(
      coldIds.map((identity) =>
        cold.verifier.verify({ identityValues: [identity], callingTn: ORIG, calledTns: [DEST] }).then((r) => {
          const t = performance.now() - t0;
          if (firstMs === 0) firstMs = t;
          lastMs = t;
          if (r.code === 'passed') passed++;
        }),
      ),
    );
    const coldResult = { n: COLD_N, fetches: cold.cache.fetchCount, firstMs, lastMs, passed };

    // Warm: cache filled (by one call), then timed runs, each against raw crypto.verify on the same tokens.
    const warm = makeVerifier();
    const check = await warm.verifier.verify({
      identityValues: [identities[0]!],
      callingTn: ORIG,
      calledTns: [DEST],
    });
    if (check.code !== 'passed') throw new Error(`warm-up verification: ${check.code} ${check.detail ?? ''}`);
    let failures = 0;
    const verifyAt = (offset: number) => async (i: number) => {
      const r = await warm.verifier.verify({
        identityValues: [identities[offset + i]!],
        callingTn: ORIG,
        calledTns: [DEST],
      });
      if (r.code !== 'passed') failures++;
    };
    const rawAt = (offset: number) => async (i: number) => {
      const s = split[offset + i]!;
      if (!rawVerify(Buffer.from(s.input, 'latin1'), s.sig, pubKey)) failures++;
    };
    // Warm-up of both paths (JIT); the raw baseline may reuse tokens (it records nothing).
    await drive(500, 64, rawAt(0));
    await drive(200, 64, verifyAt(1));
    const rounds = async (ops: number, concurrency: number, offset: number): Promise<[Rate, Rate]> => {
      const v: Rate[] = [];
      const raw: Rate[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const base = offset + r * ops;
        raw.push(await drive(ops, concurrency, rawAt(base)));
        v.push(await drive(ops, concurrency, verifyAt(base)));
      }
      return [median(v), median(raw)];
    };
    const [warm64, raw64] = await rounds(ROUND_OPS_64, 64, 201);
    const [warm1, raw1] = await rounds(ROUND_OPS_1, 1, 201 + WARM_OPS_64);
    if (failures > 0) throw new Error(`${failures} verifications did not pass`);

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const env = `node ${process.version}, ${availableParallelism()} CPUs (${cpu.trim()}), UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`;
    const result: VerifyBenchResult = { warm64, raw64, warm1, raw1, cold: coldResult, env, runtime };
    const text = report(result);
    console.log(text);
    if (opts.writeDoc) await writeDoc(text);
    return result;
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
    clearTimeout(deadline);
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function report(r: VerifyBenchResult): string {
  const row = (name: string, v: Rate, raw: Rate): string =>
    `| ${name} | ${fmt(v.perSec)} | ${fmt(raw.perSec)} | ${(v.perSec / raw.perSec).toFixed(2)} | ${fmt(v.ops)} |`;
  return [
    '## Verify',
    '',
    'Command: `npx tsc -p tsconfig.build.json && node_modules/.bin/node dist/bench/verify.js --write-doc`',
    '',
    `Environment: ${r.env}.`,
    '',
    `${formatRuntimeCrypto(r.runtime).replace(/^runtime: /, 'Runtime: ')}.`,
    '',
    'Warm cache (certificate parsed and path-checked once, then every call = parse + checks + one ES256',
    'verification on the event loop + replay store: `Verifier.verify` over the synchronous `Verifier.check`).',
    'Baseline: raw synchronous `crypto.verify(sha256, ...)` on the same tokens at the same concurrency, in the',
    'same run.',
    '',
    `Median of ${ROUNDS} rounds; in each round the baseline and the verifier run back to back on fresh tokens.`,
    '',
    '| concurrency | Verifier.verify /s | crypto.verify /s | ratio | calls (all rounds) |',
    '|---|---|---|---|---|',
    row('64', r.warm64, r.raw64),
    row('1', r.warm1, r.raw1),
    '',
    `Cold cache: ${r.cold.n} concurrent verifications for one x5u URL (loopback HTTP x5u server, empty cache):`,
    `${r.cold.fetches} fetch(es), first result after ${r.cold.firstMs.toFixed(1)} ms, last after ${r.cold.lastMs.toFixed(1)} ms,`,
    `${r.cold.passed}/${r.cold.n} passed.`,
    '',
    'Notes: the overhead over raw crypto is the rest of the work per call (Identity parse, strict base64url +',
    'JSON decode, claim checks, number canonicalisation, cache lookup, replay store). Both run on one thread, so',
    'concurrency changes nothing but the promise per call; under load the check on the event loop gave a lower',
    'tail and, with two workers, a higher maximum than the threadpool (`stir.verification.signature_check`;',
    'the load bench measures both in one run).',
  ].join('\n');
}

const START = '<!-- verify:start -->';
const END = '<!-- verify:end -->';

/** Replace only our section of docs/performance.md (other benches own other sections). */
async function writeDoc(section: string): Promise<void> {
  const path = join(process.cwd(), 'docs', 'performance.md');
  let doc = '';
  try {
    doc = await readFile(path, 'utf8');
  } catch {
    doc = '# Performance\n';
  }
  const block = `${START}\n${section}\n${END}`;
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  const next =
    s >= 0 && e > s ? doc.slice(0, s) + block + doc.slice(e + END.length) : `${doc.trimEnd()}\n\n${block}\n`;
  await writeFile(path, next);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main({ writeDoc: process.argv.includes('--write-doc') }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

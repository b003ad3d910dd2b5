/**
 * Time-boxed property tests for the parser, serializer and stream framing. Every property stops after its
 * time limit (interruptAfterTimeLimit), so the file stays well under 30 s however fast the machine is.
 * Inputs that ever crash the parser are kept in test/fixtures/fuzz-crashers and replayed below.
 */

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readEveryAccessor, SIP_SPECIAL } from '../../../../fuzz/targets/sip-parser.js';
import { SipParseError } from '../../../../src/sip/message/errors.js';
import type { SipMessage, SipResponse } from '../../../../src/sip/message/message.js';
import { parseNameAddr } from '../../../../src/sip/message/name-addr.js';
import {
  DEFAULT_MESSAGE_LIMITS,
  frameLength,
  parseMessage,
  skipKeepAlive,
} from '../../../../src/sip/message/parse.js';
import { serializeMessage } from '../../../../src/sip/message/serialize.js';
import { parseVia } from '../../../../src/sip/message/via.js';

const TORTURE = new URL('../../../fixtures/torture/', import.meta.url);
const CRASHERS = new URL('../../../fixtures/fuzz-crashers/', import.meta.url);
const CORPUS: Buffer[] = readdirSync(TORTURE)
  .filter((f) => f.endsWith('.dat'))
  .sort()
  .map((f) => readFileSync(new URL(f, TORTURE)));

/** Parse and read every accessor; anything thrown must be a SipParseError. Returns the error code or 'ok'. */
function exercise(buf: Buffer, stream = false): string {
  try {
    const m = parseMessage(buf, undefined, { stream });
    readEveryAccessor(m);
    try {
      serializeMessage(m);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    return 'ok';
  } catch (e) {
    if (e instanceof SipParseError) return e.code;
    throw e;
  }
}

const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'dup'),
  byte: fc.oneof(fc.constantFrom(...SIP_SPECIAL), fc.integer({ min: 0, max: 255 })),
  len: fc.integer({ min: 1, max: 40 }),
});

function mutate(
  seed: Buffer,
  ops: readonly { at: number; kind: string; byte: number; len: number }[],
): Buffer {
  let b = Buffer.from(seed);
  for (const op of ops) {
    if (b.length === 0) break;
    const at = op.at % b.length;
    if (op.kind === 'flip') b[at] = op.byte;
    else if (op.kind === 'insert')
      b = Buffer.concat([b.subarray(0, at), Buffer.from([op.byte]), b.subarray(at)]);
    else if (op.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + op.len)]);
    else if (op.kind === 'truncate') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at + op.len), b.subarray(at)]);
  }
  return b;
}

// ---- generators for well-formed messages ----
const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,12}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const host = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.example`),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
  fc
    .array(fc.stringMatching(/^[0-9a-f]{1,4}$/), { minLength: 8, maxLength: 8 })
    .map((g) => `[${g.join(':')}]`),
);
const user = fc.stringMatching(/^[A-Za-z0-9\-_.!~*'()&=+$,;?/]{1,16}$/);
const param = fc.tuple(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  fc.option(fc.stringMatching(/^[A-Za-z0-9\-_.!~*']{1,10}$/), { nil: undefined }),
);
const params = fc.uniqueArray(param, { maxLength: 3, selector: (p) => p[0] });
const fmtParams = (ps: readonly (readonly [string, string | undefined])[]): string =>
  ps.map(([k, v]) => (v === undefined ? `;${k}` : `;${k}=${v}`)).join('');
const sipUri = fc
  .record({ scheme: fc.constantFrom('sip', 'sips'), user: fc.option(user, { nil: undefined }), host, params })
  .map((u) => `${u.scheme}:${u.user === undefined ? '' : `${u.user}@`}${u.host}${fmtParams(u.params)}`);
const displayName = fc.option(
  // 'é' as its UTF-8 octets in the parser's one-char-per-octet view (parse.ts).
  fc.string({ unit: fc.constantFrom(...' abcXYZ,;:<>@"\\'.split(''), '\u00c3\u00a9'), maxLength: 12 }),
  { nil: undefined },
);
const quote = (s: string): string => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const nameAddr = fc
  .record({ dn: displayName, uri: sipUri, tag: fc.option(token, { nil: undefined }), params })
  .map(({ dn, uri, tag, params: ps }) => ({
    dn,
    tag,
    text: `${dn === undefined ? '' : `${quote(dn)} `}<${uri}>${fmtParams(ps.filter(([k]) => k !== 'tag'))}${tag === undefined ? '' : `;tag=${tag}`}`,
  }));
const via = fc
  .record({
    transport: fc.constantFrom('UDP', 'TCP', 'TLS', 'SCTP', 'WS'),
    host,
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    branch: token,
  })
  .map(
    (v) =>
      `SIP/2.0/${v.transport} ${v.host}${v.port === undefined ? '' : `:${v.port}`};branch=z9hG4bK${v.branch}`,
  );
/**
 * Header text as the parser holds it: UTF-8 octets one char each (latin1 view, parse.ts), since octets that
 * are not UTF-8 are refused (RFC 3261 §25.1).
 */
const headerValue = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 40 })
  .map((s) => Buffer.from(s.trim(), 'utf8').toString('latin1'));

const message = fc
  .record({
    request: fc.boolean(),
    method: token,
    ruri: sipUri,
    status: fc.integer({ min: 100, max: 699 }),
    reason: headerValue,
    vias: fc.array(via, { minLength: 1, maxLength: 4 }),
    from: nameAddr,
    to: nameAddr,
    callId: fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]{1,20}(@[a-z0-9.]{1,10})?$/),
    seq: fc.nat(),
    maxForwards: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    extra: fc.array(fc.tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/), headerValue), { maxLength: 5 }),
    body: fc.uint8Array({ maxLength: 200 }),
    compact: fc.boolean(),
  })
  .map((g) => {
    const lines = [g.request ? `${g.method} ${g.ruri} SIP/2.0` : `SIP/2.0 ${g.status} ${g.reason}`];
    for (const v of g.vias) lines.push(`${g.compact ? 'v' : 'Via'}: ${v}`);
    lines.push(`${g.compact ? 'f' : 'From'}: ${g.from.text}`, `To: ${g.to.text}`, `Call-ID: ${g.callId}`);
    lines.push(`CSeq: ${g.seq} ${g.method}`);
    if (g.maxForwards !== undefined) lines.push(`Max-Forwards: ${g.maxForwards}`);
    for (const [n, v] of g.extra) lines.push(v.length === 0 ? `${n}:` : `${n}: ${v}`);
    lines.push(`${g.compact ? 'l' : 'Content-Length'}: ${g.body.length}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    return { g, wire: Buffer.concat([head, Buffer.from(g.body)]) };
  });

function summary(m: SipMessage): unknown {
  return {
    start: m.isRequest()
      ? [m.method, m.uri, m.version]
      : [(m as SipResponse).status, (m as SipResponse).reason],
    headers: m.headers.map((h) => [h.name, h.value]),
    body: m.body.toString('hex'),
    via: m.via,
    from: m.from,
    to: m.to,
    cseq: m.cseq,
    maxForwards: m.maxForwards,
  };
}

const LIMIT_MS = 4500;

describe('parser fuzzing (time-boxed)', () => {
  it('random bytes only ever produce a message or a SipParseError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.array(fc.constantFrom(...SIP_SPECIAL, 0x41, 0x53, 0x49, 0x50, 0x31), { maxLength: 300 }),
        ),
        (bytes) => {
          exercise(Buffer.from(bytes));
          exercise(Buffer.from(bytes), true);
        },
      ),
      { numRuns: 200_000, interruptAfterTimeLimit: LIMIT_MS },
    );
  });

  it('mutated torture messages only ever produce a message or a SipParseError', () => {
    fc.assert(
      fc.property(fc.nat(CORPUS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, ops) => {
        const b = mutate(CORPUS[i]!, ops);
        exercise(b);
        exercise(b, true);
      }),
      { numRuns: 200_000, interruptAfterTimeLimit: LIMIT_MS },
    );
  });

  it('generated valid messages parse to what was generated and round-trip through serialize', () => {
    fc.assert(
      fc.property(message, ({ g, wire }) => {
        const m = parseMessage(wire);
        expect(m.isRequest()).toBe(g.request);
        expect(m.via.length).toBe(g.vias.length);
        expect(m.from.displayName).toBe(g.from.dn);
        expect(m.from.tag).toBe(g.from.tag);
        expect(m.to.tag).toBe(g.to.tag);
        expect(m.callId).toBe(g.callId);
        expect(m.cseq).toEqual({ seq: g.seq, method: g.method });
        expect(m.maxForwards).toBe(g.maxForwards);
        expect(Buffer.from(m.body).equals(Buffer.from(g.body))).toBe(true);
        const again = parseMessage(serializeMessage(m));
        expect(summary(again)).toEqual(summary(m));
        // This generator writes canonical lines, so the octets come back unchanged too.
        expect(serializeMessage(m).equals(wire)).toBe(true);
      }),
      { numRuns: 20_000, interruptAfterTimeLimit: LIMIT_MS },
    );
  });

  it('frameLength cuts a stream split at random points into the same messages', () => {
    const ping = Buffer.from('\r\n\r\n');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message, fc.boolean()), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (msgs, cuts) => {
          const parts = msgs.flatMap(([{ wire }, keepAlive]) => (keepAlive ? [ping, wire] : [wire]));
          const stream = Buffer.concat(parts);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            chunks.push(stream.subarray(prev, p));
            prev = p;
          }
          // A receiver: append each chunk, cut every complete frame, keep the rest.
          let pending: Buffer = Buffer.alloc(0);
          const frames: Buffer[] = [];
          let pings = 0;
          for (const chunk of chunks) {
            pending = Buffer.concat([pending, chunk]);
            for (;;) {
              const start = skipKeepAlive(pending, 0);
              if (start >= 4) pings++;
              pending = pending.subarray(start);
              const n = frameLength(pending, 0, DEFAULT_MESSAGE_LIMITS);
              if (n < 0) break;
              frames.push(pending.subarray(0, n));
              pending = pending.subarray(n);
            }
          }
          expect(pending.length).toBe(0);
          expect(frames.map((f) => f.toString('latin1'))).toEqual(
            msgs.map(([{ wire }]) => wire.toString('latin1')),
          );
          expect(pings).toBeLessThanOrEqual(msgs.filter(([, k]) => k).length);
          for (const f of frames)
            expect(parseMessage(f, undefined, { stream: true }).via.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 10_000, interruptAfterTimeLimit: LIMIT_MS },
    );
  });

  it('frameLength on mutated streams returns a length, -1 or a SipParseError, never past the buffer', () => {
    fc.assert(
      fc.property(fc.nat(CORPUS.length - 1), fc.array(mutation, { maxLength: 4 }), (i, ops) => {
        const b = mutate(Buffer.concat([CORPUS[i]!, CORPUS[(i + 1) % CORPUS.length]!]), ops);
        try {
          const n = frameLength(b, 0, DEFAULT_MESSAGE_LIMITS);
          expect(n === -1 || (n > 0 && n <= b.length)).toBe(true);
          if (n > 0) exercise(b.subarray(0, n), true);
        } catch (e) {
          expect(e).toBeInstanceOf(SipParseError);
        }
      }),
      { numRuns: 100_000, interruptAfterTimeLimit: 3000 },
    );
  });
});

describe('fast and general paths agree', () => {
  // Header parameters without LWS take a fast path; LWS around ";" and "=" (legal, RFC 3261 §25.1) forces the
  // general one. Both must give the same result.
  const spaced = (ps: readonly (readonly [string, string | undefined])[]): string =>
    ps.map(([k, v]) => (v === undefined ? ` ; ${k}` : ` ;\t${k} = ${v}`)).join('');

  it('Via and name-addr parameters parse the same with and without LWS', () => {
    fc.assert(
      fc.property(via, params, nameAddr, params, (v, vp, na, np) => {
        const extra = vp.filter(([k]) => !['branch', 'received', 'rport'].includes(k));
        expect(parseVia(`${v}${spaced(extra)}  `)).toEqual(parseVia(`${v}${fmtParams(extra)}`));
        const ps = np.filter(([k]) => k !== 'tag');
        expect(parseNameAddr(`${na.text}${spaced(ps)}`)).toEqual(parseNameAddr(`${na.text}${fmtParams(ps)}`));
      }),
      { numRuns: 5_000, interruptAfterTimeLimit: 2000 },
    );
  });
});

describe('fuzz crashers (test/fixtures/fuzz-crashers)', () => {
  const files = readdirSync(CRASHERS).filter((f) => f.endsWith('.dat'));

  it('the folder holds the regression inputs', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const f of files) {
    it(`${f} parses or fails with a SipParseError`, () => {
      const b = readFileSync(new URL(f, CRASHERS));
      expect(typeof exercise(b)).toBe('string');
      expect(typeof exercise(b, true)).toBe('string');
      try {
        frameLength(b, 0, DEFAULT_MESSAGE_LIMITS);
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
      }
    });
  }
});

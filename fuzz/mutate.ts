import fc from 'fast-check';

/**
 * Inputs built from seeds: byte mutations of a real example (flip, insert, delete, truncate, duplicate a
 * run, splice in a byte that matters to the grammar), mixed with random bytes and text made of the
 * grammar's separators. Most crashes hide one edit away from a valid input.
 */
export function mutationsOf(
  seeds: readonly Uint8Array[],
  special: readonly number[],
): fc.Arbitrary<Uint8Array> {
  const op = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'dup'),
    byte: fc.oneof(fc.constantFrom(...special), fc.integer({ min: 0, max: 255 })),
    len: fc.integer({ min: 1, max: 64 }),
  });
  const mutated = fc
    .tuple(fc.nat(Math.max(0, seeds.length - 1)), fc.array(op, { minLength: 1, maxLength: 8 }))
    .map(([i, ops]) => {
      let b = Buffer.from(seeds[i] ?? new Uint8Array());
      for (const o of ops) {
        if (b.length === 0) {
          b = Buffer.from([o.byte]);
          continue;
        }
        const at = o.at % b.length;
        if (o.kind === 'flip') b[at] = o.byte;
        else if (o.kind === 'insert')
          b = Buffer.concat([b.subarray(0, at), Buffer.from([o.byte]), b.subarray(at)]);
        else if (o.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.len)]);
        else if (o.kind === 'truncate') b = b.subarray(0, at);
        else b = Buffer.concat([b.subarray(0, at + o.len), b.subarray(at)]);
      }
      return new Uint8Array(b);
    });
  const soup = fc
    .array(fc.constantFrom(...special, 0x41, 0x61, 0x31), { maxLength: 400 })
    .map((a) => Uint8Array.from(a));
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 800 }) },
    { weight: 1, arbitrary: soup },
  );
}

/** Text arbitrary as UTF-8 bytes. */
export function utf8(a: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  return a.map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
}

/** Deterministic chunk size from the input itself, so a replayed crasher is split the same way. */
export function chunkSizeOf(input: Buffer): number {
  let h = 0;
  for (let i = 0; i < input.length; i += 7) h = (h * 31 + input[i]!) >>> 0;
  return 1 + (h % 97);
}

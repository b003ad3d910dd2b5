import type fc from 'fast-check';

/**
 * One thing the fuzzer feeds bytes to. `run` returns normally for every input the module handles: a
 * result, or its declared error type (caught inside `run`). Anything else `run` throws is a crash: an
 * exception of another type, or a broken invariant (`InvariantBroken`). A hang is an input on which `run`
 * does not return within the campaign's bound (fuzz/run.ts watches from outside the worker).
 */
export interface FuzzTarget {
  readonly name: FuzzTargetName;
  /** What is fed and which error it may end in, for the README and the report. */
  readonly about: string;
  readonly inputs: fc.Arbitrary<Uint8Array>;
  run(input: Buffer): void;
}

export type FuzzTargetName =
  | 'sip-parser'
  | 'tcp-framing'
  | 'identity-header'
  | 'passport-decode'
  | 'config-loader'
  | 'admin-json';

/** A stated property of a target that an input broke. */
export class InvariantBroken extends Error {
  override readonly name = 'InvariantBroken';
}

export function invariant(ok: boolean, what: string): void {
  if (!ok) throw new InvariantBroken(what);
}

import { SipParseError } from '../../src/sip/message/errors.js';
import { DEFAULT_MESSAGE_LIMITS } from '../../src/sip/message/parse.js';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';
import { type FuzzTarget, invariant } from '../fuzz-target.js';
import { chunkSizeOf, mutationsOf } from '../mutate.js';
import { filesIn } from '../seeds.js';
import { SIP_SPECIAL } from './sip-parser.js';

const LIMITS = { ...DEFAULT_MESSAGE_LIMITS, maxMessageSize: 8192 };

/** Frames cut from `input` fed in chunks of `size` (0: whole), and whether the framer refused the stream. */
function frames(input: Buffer, size: number): { frames: string[]; refused: boolean } {
  const framer = new StreamFramer(LIMITS);
  const out: string[] = [];
  const sink = {
    frame: (f: Buffer) => {
      invariant(f.length > 0 && f.length <= LIMITS.maxMessageSize, `frame of ${f.length} bytes`);
      out.push(f.toString('latin1'));
      return true;
    },
    ping: () => {},
  };
  try {
    // Each chunk is a copy: the framer may keep a reference to the chunk it was given.
    if (size === 0) framer.push(Buffer.from(input), sink);
    else
      for (let i = 0; i < input.length; i += size)
        framer.push(Buffer.from(input.subarray(i, i + size)), sink);
  } catch (e) {
    if (e instanceof SipParseError) return { frames: out, refused: true };
    throw e;
  }
  invariant(framer.pendingBytes <= input.length, 'holds more bytes than it was given');
  return { frames: out, refused: false };
}

/**
 * RFC 3261 §18.3 stream framing by Content-Length (StreamFramer). Declared error: SipParseError (the
 * connection is closed). Invariants: every frame is 1..maxMessageSize bytes; the frames do not depend on how
 * the stream is split (whole, in chunks of a size taken from the input, a byte at a time), up to the first
 * refusal.
 */
export const tcpFraming: FuzzTarget = {
  name: 'tcp-framing',
  about: 'StreamFramer.push whole, in chunks and byte by byte: same frames; SipParseError',
  inputs: (() => {
    const torture = filesIn('test/fixtures/torture', '.dat');
    // Streams of two or three messages with keep-alives between them.
    const streams = torture.map((t, i) =>
      Buffer.concat([
        t,
        Buffer.from('\r\n\r\n'),
        torture[(i + 1) % torture.length]!,
        torture[(i + 2) % torture.length]!,
      ]),
    );
    return mutationsOf(streams, SIP_SPECIAL);
  })(),
  run(input) {
    const whole = frames(input, 0);
    const splits = [chunkSizeOf(input), ...(input.length <= 4096 ? [1] : [])];
    for (const size of splits) {
      const split = frames(input, size);
      const n = Math.min(whole.frames.length, split.frames.length);
      for (let i = 0; i < n; i++) {
        invariant(whole.frames[i] === split.frames[i], `frame ${i} differs when split in chunks of ${size}`);
      }
      if (!whole.refused && !split.refused) {
        invariant(
          whole.frames.length === split.frames.length,
          `${whole.frames.length} frames whole, ${split.frames.length} in chunks of ${size}`,
        );
      }
    }
  },
};

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../../../src/sip/message/errors.js';
import {
  DEFAULT_MESSAGE_LIMITS,
  frameLength,
  type MessageLimits,
} from '../../../../src/sip/message/parse.js';
import { type FramerSink, StreamFramer } from '../../../../src/sip/transport/stream-framer.js';
import { sipRequest } from './support.js';

function collect(framer: StreamFramer) {
  const frames: Buffer[] = [];
  let pings = 0;
  const sink: FramerSink = {
    frame: (f) => {
      frames.push(f);
      return true;
    },
    ping: () => {
      pings++;
    },
  };
  return {
    frames,
    sink,
    pings: () => pings,
    push: (b: Buffer | string) => framer.push(Buffer.from(b), sink),
  };
}

describe('StreamFramer (RFC 3261 §18.3)', () => {
  it('splits several messages in one chunk', () => {
    const msgs = [sipRequest(), sipRequest({ body: 'abc' }), sipRequest({ body: '\r\n\r\nINVITE x' })];
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
    const c = collect(f);
    c.push(Buffer.concat(msgs));
    expect(c.frames).toEqual(msgs);
    expect(f.pendingBytes).toBe(0);
  });

  it('reassembles a message pushed byte by byte, asking frameLength only once the headers are complete', () => {
    const msg = sipRequest({ body: 'x'.repeat(40) });
    let calls = 0;
    const counting = (b: Buffer, s: number, l: MessageLimits): number => {
      calls++;
      return frameLength(b, s, l);
    };
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS, counting);
    const c = collect(f);
    for (let i = 0; i < msg.length; i++) c.push(msg.subarray(i, i + 1));
    expect(c.frames).toEqual([msg]);
    expect(calls).toBe(41); // body bytes + 1: nothing while the header section trickles in
  });

  it('never overwrites bytes of frames already handed out', () => {
    const a = sipRequest({ body: 'A'.repeat(100) });
    const b = sipRequest({ body: 'B'.repeat(100) });
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
    const c = collect(f);
    c.push(a.subarray(0, 10));
    c.push(Buffer.concat([a.subarray(10), b.subarray(0, 5)]));
    const first = Buffer.from(c.frames[0]!);
    for (let i = 5; i < b.length; i += 7) c.push(b.subarray(i, i + 7));
    expect(c.frames[0]).toEqual(first);
    expect(c.frames).toEqual([a, b]);
  });

  it('skips CRLF between messages and reports CRLFCRLF pings, also when split (RFC 5626 §3.5.1)', () => {
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
    const c = collect(f);
    c.push('\r\n');
    expect(c.pings()).toBe(0);
    c.push('\r');
    c.push('\n');
    expect(c.pings()).toBe(1);
    c.push(Buffer.concat([sipRequest(), Buffer.from('\r\n\r\n\r\n\r\n'), sipRequest()]));
    expect(c.pings()).toBe(3);
    expect(c.frames).toHaveLength(2);
    c.push('\n\r\n\r\n'); // LF first: no complete ping until CRLFCRLF
    expect(c.pings()).toBe(4);
  });

  it('accepts bare-LF header sections like the parser does', () => {
    const msg = Buffer.from(sipRequest({ body: 'hi' }).toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
    const c = collect(f);
    c.push(msg.subarray(0, 50));
    c.push(msg.subarray(50));
    expect(c.frames).toEqual([msg]);
  });

  it('throws bad_content_length for a message without Content-Length and keeps the bytes for the report', () => {
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
    const c = collect(f);
    const raw = sipRequest({ noContentLength: true });
    expect(() => c.push(raw)).toThrowError(expect.objectContaining({ code: 'bad_content_length' }));
    expect(f.pending()).toEqual(raw);
  });

  it('throws too_large for a header section that never ends', () => {
    const limits = { ...DEFAULT_MESSAGE_LIMITS, maxMessageSize: 300 };
    const f = new StreamFramer(limits);
    const c = collect(f);
    c.push('OPTIONS sip:x SIP/2.0\r\n');
    let err: unknown;
    try {
      for (let i = 0; i < 40; i++) c.push('X-Pad: 0123456789\r\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SipParseError);
    expect((err as SipParseError).code).toBe('too_large');
    expect(f.pendingBytes).toBeLessThanOrEqual(300 + 20);
  });

  it('throws too_large for a Content-Length beyond maxMessageSize without waiting for the body', () => {
    const f = new StreamFramer({ ...DEFAULT_MESSAGE_LIMITS, maxMessageSize: 1000 });
    const c = collect(f);
    const head = sipRequest().toString('latin1').replace('Content-Length: 0', 'Content-Length: 5000');
    expect(() => c.push(head)).toThrowError(expect.objectContaining({ code: 'too_large' }));
  });

  it('stops when the sink says so and keeps the rest', () => {
    const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
    const frames: Buffer[] = [];
    const both = Buffer.concat([sipRequest(), sipRequest()]);
    f.push(both, {
      frame: (x) => {
        frames.push(x);
        return false;
      },
      ping: () => {},
    });
    expect(frames).toHaveLength(1);
    expect(f.pendingBytes).toBe(both.length - frames[0]!.length);
  });

  it('property: any split of a stream of valid messages yields the messages in order', () => {
    const message = fc
      .record({ body: fc.uint8Array({ maxLength: 300 }), ka: fc.constantFrom('', '\r\n', '\r\n\r\n') })
      .map(({ body, ka }) => Buffer.concat([Buffer.from(ka), sipRequest({ body: Buffer.from(body) })]));
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (msgs, cuts) => {
          const stream = Buffer.concat(msgs);
          const points = [...new Set(cuts.map((x) => x % (stream.length + 1)))].sort((a, b) => a - b);
          const f = new StreamFramer(DEFAULT_MESSAGE_LIMITS);
          const c = collect(f);
          let prev = 0;
          for (const p of [...points, stream.length]) {
            c.push(stream.subarray(prev, p));
            prev = p;
          }
          const expected = msgs.map((m) => m.subarray(m.indexOf('OPTIONS')));
          expect(c.frames).toEqual(expected);
          expect(f.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 5000 },
    );
  });
});

/**
 * Cluster steering decides the owner of a datagram from its raw bytes (src/cluster/call-id-owner.ts). It must
 * agree with the parser on every message the parser accepts, or a call's messages would split between workers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  callIdHash,
  callIdHashOf,
  callIdOwnedBy,
  ownerOfCallId,
  ownerOfDatagram,
} from '../../../src/cluster/call-id-owner.js';
import { generateCallId } from '../../../src/sip/message/build.js';
import { parseMessage } from '../../../src/sip/message/parse.js';

const DIR = new URL('../../fixtures/torture/', import.meta.url);
const TORTURE = readdirSync(DIR).filter((f) => f.endsWith('.dat'));

const msg = (headers: string[]): Buffer =>
  Buffer.from(`INVITE sip:bob@example.com SIP/2.0\r\n${headers.join('\r\n')}\r\n\r\nbody`, 'latin1');

describe('callIdHashOf: the raw scan agrees with the parser', () => {
  it.each(TORTURE)('%s', (file) => {
    const raw = readFileSync(new URL(file, DIR));
    let callId: string | undefined;
    try {
      callId = parseMessage(raw).callId;
    } catch {
      callId = undefined; // the parser refuses it: whichever worker reads it answers 400 (or drops it)
    }
    // A message the parser accepts must hash to its parsed Call-ID, whatever the header's spelling.
    if (callId !== undefined) expect(callIdHashOf(raw), file).toBe(callIdHash(callId));
  });

  it('covers the torture set (most messages parse and carry a Call-ID)', () => {
    let parsed = 0;
    for (const f of TORTURE) {
      try {
        parseMessage(readFileSync(new URL(f, DIR)));
        parsed++;
      } catch {
        // counted as refused
      }
    }
    expect(parsed).toBeGreaterThan(20);
  });
});

describe('callIdHashOf: header spellings (RFC 3261 §7.3.1, §7.3.3)', () => {
  const want = callIdHash('a84b4c76e66710@pc33.atlanta.com');
  it.each([
    ['long form', 'Call-ID: a84b4c76e66710@pc33.atlanta.com'],
    ['any case', 'cALL-iD: a84b4c76e66710@pc33.atlanta.com'],
    ['compact form', 'i: a84b4c76e66710@pc33.atlanta.com'],
    ['compact, upper case', 'I:a84b4c76e66710@pc33.atlanta.com'],
    ['whitespace before the colon', 'Call-ID \t : a84b4c76e66710@pc33.atlanta.com'],
    ['trailing whitespace', 'Call-ID: a84b4c76e66710@pc33.atlanta.com \t'],
    ['value folded onto the next line', 'Call-ID:\r\n  a84b4c76e66710@pc33.atlanta.com'],
  ])('%s', (_name, header) => {
    expect(callIdHashOf(msg(['Via: SIP/2.0/UDP h;branch=z9hG4bK1', header, 'CSeq: 1 INVITE']))).toBe(want);
  });

  it('ignores look-alike names (Call-Info, If-Match, i-prefixed extension headers)', () => {
    const m = msg([
      'Call-Info: <http://x/y>;purpose=icon',
      'If-Match: x',
      'identity-x: y',
      'Call-ID: the-real-one',
    ]);
    expect(callIdHashOf(m)).toBe(callIdHash('the-real-one'));
  });

  it('takes the first Call-ID when there are two (the parser then refuses the message anyway)', () => {
    expect(callIdHashOf(msg(['Call-ID: first', 'Call-ID: second']))).toBe(callIdHash('first'));
  });

  it('does not look into the body', () => {
    const m = Buffer.from('INVITE sip:b@h SIP/2.0\r\nVia: x\r\n\r\nCall-ID: in-the-body\r\n', 'latin1');
    expect(callIdHashOf(m)).toBe(-1);
  });

  it.each([
    ['empty', ''],
    ['no line end', 'INVITE sip:b@h SIP/2.0'],
    ['no Call-ID', 'INVITE sip:b@h SIP/2.0\r\nVia: x\r\n\r\n'],
    ['empty value', 'INVITE sip:b@h SIP/2.0\r\nCall-ID:   \r\n\r\n'],
    ['truncated name', 'INVITE sip:b@h SIP/2.0\r\nCall-I'],
    ['truncated after colon', 'INVITE sip:b@h SIP/2.0\r\nCall-ID:'],
  ])('%s: -1 (the reader handles it)', (_n, text) => {
    expect(callIdHashOf(Buffer.from(text, 'latin1'))).toBe(-1);
    expect(ownerOfDatagram(Buffer.from(text, 'latin1'), 4)).toBe(-1);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(rnd() % 200);
      for (let k = 0; k < b.length; k++) b[k] = [0x0d, 0x0a, 0x20, 0x3a, 0x69, 0x43, 0x2d][rnd() % 7]!;
      const h = callIdHashOf(b);
      expect(h === -1 || (h >= 0 && h <= 0xffffffff)).toBe(true);
    }
  });
});

describe('ownership', () => {
  it('ownerOfDatagram is ownerOfCallId of the same value', () => {
    for (let i = 0; i < 200; i++) {
      const id = generateCallId();
      expect(ownerOfDatagram(msg([`Call-ID: ${id}`]), 3)).toBe(ownerOfCallId(id, 3));
    }
  });

  it('spreads random Call-IDs evenly (within 5 % per worker over 20,000)', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[ownerOfCallId(generateCallId(), 4)]!++;
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(250);
  });

  it('callIdOwnedBy returns Call-IDs that hash to the asking worker', () => {
    for (const workers of [1, 2, 3, 8]) {
      for (let w = 0; w < workers; w++) {
        for (let i = 0; i < 50; i++)
          expect(ownerOfCallId(callIdOwnedBy(w, workers, generateCallId), workers)).toBe(w);
      }
    }
  });

  it('with one worker, the first Call-ID drawn is used', () => {
    let draws = 0;
    callIdOwnedBy(0, 1, () => `x${++draws}`);
    expect(draws).toBe(1);
  });
});

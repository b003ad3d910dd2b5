import { SipParseError } from '../../src/sip/message/errors.js';
import type { SipMessage } from '../../src/sip/message/message.js';
import { parseMessage } from '../../src/sip/message/parse.js';
import { serializeMessage, startLine } from '../../src/sip/message/serialize.js';
import { type FuzzTarget, invariant } from '../fuzz-target.js';
import { mutationsOf } from '../mutate.js';
import { filesIn } from '../seeds.js';

/** Bytes that matter to the SIP grammar (RFC 3261 §25): line ends, separators, quotes, escapes, NUL, 0xFF. */
export const SIP_SPECIAL = [
  0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x22, 0x3c, 0x3e, 0x5c, 0x25, 0x40, 0x3d, 0x2f, 0x00, 0xff,
];

const isParseError = (e: unknown): boolean => e instanceof SipParseError;

/** Read every lazy accessor of a parsed message; each may only throw SipParseError (also used by the unit fuzz test). */
export function readEveryAccessor(m: SipMessage): void {
  for (const read of [
    () => m.via,
    () => m.from,
    () => m.to,
    () => m.callId,
    () => m.cseq,
    () => m.maxForwards,
    () => m.contentLength,
    () => m.contact,
    () => m.route,
    () => m.recordRoute,
    () => m.pAssertedIdentity,
    () => (m.isRequest() ? m.requestUri : undefined),
  ]) {
    try {
      read();
    } catch (e) {
      if (!isParseError(e)) throw e;
    }
  }
}

/** What a round trip keeps: start line, header fields in order (Content-Length aside), body. */
function shape(m: SipMessage): string {
  const headers = m.headers.filter((h) => h.name !== 'content-length').map((h) => `${h.name}:${h.value}`);
  return JSON.stringify([startLine(m), headers, m.body.toString('hex')]);
}

/**
 * RFC 3261 §7 messages, as a datagram and as a stream frame. Declared error: SipParseError. Invariant: a
 * message that parses serializes to bytes that parse again to the same start line, header fields (names
 * and values in order; serialize writes Content-Length from the body) and body.
 */
export const sipParser: FuzzTarget = {
  name: 'sip-parser',
  about:
    'parseMessage (datagram and stream), every lazy accessor, serializeMessage round trip; SipParseError',
  inputs: mutationsOf([...filesIn('test/fixtures/torture', '.dat')], SIP_SPECIAL),
  run(input) {
    for (const stream of [false, true]) {
      let m: SipMessage;
      try {
        m = parseMessage(input, undefined, { stream });
      } catch (e) {
        if (isParseError(e)) continue;
        throw e;
      }
      readEveryAccessor(m);
      const wire = serializeMessage(m);
      let again: SipMessage;
      try {
        again = parseMessage(wire, undefined, { stream });
      } catch (e) {
        if (!isParseError(e)) throw e;
        invariant(false, `a parsed message serializes to bytes that do not parse: ${(e as Error).message}`);
        return;
      }
      invariant(
        shape(again) === shape(m),
        `round trip changed the message: ${shape(m).slice(0, 300)} -> ${shape(again).slice(0, 300)}`,
      );
    }
  },
};

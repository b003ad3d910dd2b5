/**
 * Message serialisation (RFC 3261 §7): start line, every header line `rawName: value` in wire order, a
 * Content-Length equal to the body length (RFC 3261 §18.3, §20.14), the empty line, the body.
 *
 * Header text from the parser is latin1 (one char per octet) and is written back as latin1, so parsed header
 * octets round-trip exactly. Text set by code that holds characters above U+00FF is written as UTF-8.
 */
import { unicodeToWireText } from './headers.js';
import type { SipMessage, SipResponse } from './message.js';

// Any char above U+00FF cannot be a latin1 octet: such text came from code, not the wire.
const WIDE = /[^\x00-\xff]/;

/** The start line without CRLF. */
export function startLine(msg: SipMessage): string {
  if (msg.isRequest()) return `${msg.method} ${msg.uri} ${msg.version}`;
  const res = msg as SipResponse;
  return `${res.version} ${res.status} ${res.reason}`;
}

/** Start line, header lines and the empty line, as latin1 text (Content-Length set to the body length). */
export function serializeHead(msg: SipMessage): string {
  const len = msg.body.length;
  let s = `${startLine(msg)}\r\n`;
  let sawCl = false;
  for (const h of msg.headers) {
    if (h.name === 'content-length') {
      // Replace the first Content-Length in place; drop any others.
      if (sawCl) continue;
      sawCl = true;
      s += `${h.rawName}: ${len}\r\n`;
      continue;
    }
    s += h.value.length === 0 ? `${h.rawName}:\r\n` : `${h.rawName}: ${h.value}\r\n`;
  }
  if (!sawCl) s += `Content-Length: ${len}\r\n`;
  s += '\r\n';
  return WIDE.test(s) ? widen(s) : s;
}

/** Re-encode the lines holding characters above U+00FF as UTF-8 octets (one latin1 char per octet). */
function widen(s: string): string {
  return s
    .split('\r\n')
    .map((line) => (WIDE.test(line) ? unicodeToWireText(line) : line))
    .join('\r\n');
}

/**
 * The message as wire octets. `alloc` defaults to Buffer.allocUnsafe (small messages are slices of Node's
 * shared pool); pass Buffer.allocUnsafeSlow for bytes kept a long time, so they do not pin a pool chunk.
 */
export function serializeMessage(
  msg: SipMessage,
  alloc: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const head = serializeHead(msg);
  const body = msg.body;
  const out = alloc(head.length + body.length);
  out.write(head, 0, 'latin1');
  if (body.length > 0) body.copy(out, head.length);
  return out;
}

// Reads a SIPp -trace_msg file (SIPp 3.6) back into the messages SIPp received, and the header values of
// one of them: what a callee really saw on the wire, parsed independently of Stirgate's own parser.
//
// File layout, one block per message:
//   ----------------------------------------------- 2026-12-07 04:14:54.834540
//   UDP message received [853] bytes :
//   <blank line>
//   INVITE sip:... SIP/2.0
//   ...
import { readFile } from 'node:fs/promises';

/** One message SIPp received, as the text it logged (start line, headers, blank line, body). */
export interface ReceivedMessage {
  readonly startLine: string;
  readonly text: string;
}

const BLOCK_SEPARATOR = /^-{20,} .*$/m;
const RECEIVED_LINE = /^(UDP|TCP|TLS|SCTP) message received \[\d+\] bytes :$/;

/** The messages SIPp logged as received, in the order it received them. */
export function receivedMessages(trace: string): ReceivedMessage[] {
  const out: ReceivedMessage[] = [];
  for (const block of trace.split(BLOCK_SEPARATOR)) {
    const lines = block.replace(/^\r?\n/, '').split('\n');
    if (!RECEIVED_LINE.test(lines[0]?.trim() ?? '')) continue;
    // The message starts after the first blank line that follows the "received" line.
    const text = lines
      .slice(1)
      .join('\n')
      .replace(/^(\r?\n)+/, '');
    const startLine = text.slice(0, text.search(/\r?\n|$/));
    out.push({ startLine, text });
  }
  return out;
}

/** The received requests of one method (e.g. every INVITE the callee got). */
export function receivedRequests(trace: string, method: string): ReceivedMessage[] {
  return receivedMessages(trace).filter((m) => m.startLine.startsWith(`${method} `));
}

/** Read a -trace_msg file; SIPp writes it as it goes and flushes it when it exits. */
export async function readReceivedRequests(file: string, method: string): Promise<ReceivedMessage[]> {
  return receivedRequests(await readFile(file, 'utf8'), method);
}

/** RFC 3261 §7.3.3 compact forms (and RFC 8224 §7 `y` for Identity), to their long names. */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  y: 'identity',
};

/**
 * Every value of header `name` in the message's header section, in wire order: one entry per header line
 * (continuation lines unfolded, RFC 3261 §7.3.1), compact forms included. Comma-separated values within a
 * line are not split (see splitCommaValues).
 */
export function headerValues(message: ReceivedMessage, name: string): string[] {
  const wanted = name.toLowerCase();
  const end = message.text.search(/\r?\n\r?\n/);
  const head = end < 0 ? message.text : message.text.slice(0, end);
  const lines = head.split(/\r?\n/).slice(1);
  const unfolded: string[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && unfolded.length > 0) unfolded[unfolded.length - 1] += ` ${line.trim()}`;
    else unfolded.push(line);
  }
  const out: string[] = [];
  for (const line of unfolded) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    if ((COMPACT[raw] ?? raw) === wanted) out.push(line.slice(colon + 1).trim());
  }
  return out;
}

/** Split a header value on the commas that separate values (RFC 3261 §7.3.1), not those in quotes or <>. */
export function splitCommaValues(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && quoted) i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle++;
    else if (!quoted && ch === '>') angle = Math.max(0, angle - 1);
    else if (!quoted && angle === 0 && ch === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}

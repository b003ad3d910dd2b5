import { describe, expect, it } from 'vitest';
import { SipParseError, type SipParseErrorCode } from '../../../../src/sip/message/errors.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import {
  DEFAULT_MESSAGE_LIMITS,
  frameLength,
  type MessageLimits,
  parseMessage,
  skipKeepAlive,
} from '../../../../src/sip/message/parse.js';

const HEAD = [
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: Alice <sip:alice@example.com>;tag=9fxced76sl',
  'To: <sip:bob@example.net>',
  'Call-ID: 3848276298220188511@example.com',
  'CSeq: 1 INVITE',
];

function msg(lines: string[], body = '', eol = '\r\n'): Buffer {
  return Buffer.from(lines.join(eol) + eol + eol + body, 'latin1');
}

function invite(extra: string[] = [], body = ''): Buffer {
  return msg(
    ['INVITE sip:bob@example.net SIP/2.0', ...HEAD, ...extra, `Content-Length: ${body.length}`],
    body,
  );
}

function code(buf: Buffer, limits?: Partial<MessageLimits>, stream = false): SipParseErrorCode {
  try {
    parseMessage(buf, limits, { stream });
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    return (e as SipParseError).code;
  }
  throw new Error('parsed');
}

function errorOf(buf: Buffer): SipParseError {
  try {
    parseMessage(buf);
  } catch (e) {
    return e as SipParseError;
  }
  throw new Error('parsed');
}

describe('parseMessage: start line (RFC 3261 §7.1, §7.2)', () => {
  it('request line', () => {
    const m = parseMessage(invite()) as SipRequest;
    expect([m.method, m.uri, m.version, m.isRequest()]).toEqual([
      'INVITE',
      'sip:bob@example.net',
      'SIP/2.0',
      true,
    ]);
  });

  it('status line, reason with spaces, SIP-Version case-insensitive', () => {
    const m = parseMessage(msg(['sip/2.0 183 Session  Progress', ...HEAD])) as SipResponse;
    expect([m.status, m.reason, m.version, m.isRequest()]).toEqual([
      183,
      'Session  Progress',
      'SIP/2.0',
      false,
    ]);
  });

  it.each([
    ['SIP/2.0 99 Low', 'bad_status_code'],
    ['SIP/2.0 700 High', 'bad_status_code'],
    ['SIP/2.0 2000 OK', 'bad_status_code'],
    ['SIP/2.0 20x OK', 'bad_status_code'],
    ['SIP/2.0 200OK', 'bad_status_code'],
    ['SIP/2.1 200 OK', 'bad_version'],
    ['SIP/X 200 OK', 'bad_start_line'],
    ['SIP/2.0', 'bad_start_line'],
    ['HTTP/1.1 200 OK', 'bad_start_line'],
    ['INVITE sip:bob@example.net', 'bad_start_line'],
    ['INVITE sip:bob@example.net HTTP/1.1', 'bad_start_line'],
    ['INV(ITE sip:bob@example.net SIP/2.0', 'bad_start_line'],
    ['INVITE sip:bob@example.net SIP/3.0', 'bad_version'],
  ] as const)('%j -> %s', (line, expected) => {
    expect(code(msg([line, ...HEAD]))).toBe(expected);
  });

  it('bad_version keeps a partial message for the 505', () => {
    const e = errorOf(msg(['INVITE sip:a@b SIP/3.0', ...HEAD]));
    expect(e.partial?.isRequest()).toBe(true);
    expect(e.partial?.get('call-id')).toBe('3848276298220188511@example.com');
  });

  it('skips CRLF before the start line (RFC 3261 §7.5)', () => {
    const m = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), invite()]));
    expect(m.callId).toBe('3848276298220188511@example.com');
  });

  it('an empty or CRLF-only buffer is incomplete', () => {
    expect(code(Buffer.alloc(0))).toBe('incomplete');
    expect(code(Buffer.from('\r\n\r\n'))).toBe('incomplete');
  });
});

describe('parseMessage: header lines (RFC 3261 §7.3)', () => {
  it('unfolds continuation lines into one SP and keeps wire order and raw names', () => {
    const m = parseMessage(
      msg([
        'INVITE sip:a@b SIP/2.0',
        ...HEAD,
        'Subject: first',
        ' \t second',
        '\tthird',
        'X-Empty:',
        '  later',
      ]),
    );
    expect(m.get('subject')).toBe('first second third');
    expect(m.get('x-empty')).toBe('later');
    expect(m.headers.map((h) => h.rawName).slice(-2)).toEqual(['Subject', 'X-Empty']);
  });

  it('accepts bare LF line ends and mixed ones', () => {
    const m = parseMessage(msg(['INVITE sip:a@b SIP/2.0', ...HEAD, 'Content-Length: 4'], 'body', '\n'));
    expect(m.cseq).toEqual({ seq: 1, method: 'INVITE' });
    expect(m.body.toString()).toBe('body');
    const mixed = Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${HEAD.join('\n')}\r\nContent-Length: 2\n\r\nhi`);
    expect(parseMessage(mixed).body.toString()).toBe('hi');
  });

  it('optional whitespace around the colon, names case-insensitive, compact forms', () => {
    const m = parseMessage(
      msg([
        'OPTIONS sip:a@b SIP/2.0',
        'v  :SIP/2.0/TCP h;branch=z9hG4bKa',
        'f:<sip:a@b>;tag=1',
        'T :<sip:c@d>',
        'i:abc',
        'CSEQ:   2   OPTIONS',
        'l:0',
      ]),
    );
    expect([m.topVia?.transport, m.from.tag, m.callId, m.cseq.seq, m.contentLength]).toEqual([
      'TCP',
      '1',
      'abc',
      2,
      0,
    ]);
    expect(m.headers.map((h) => h.rawName)).toEqual(['v', 'f', 'T', 'i', 'CSEQ', 'l']);
  });

  it('a line that is not `name: value` is bad_header, with the other lines in the partial message', () => {
    for (const bad of ['Foobar roobar', 'Bad Name: x', ': no name']) {
      const e = errorOf(msg(['INVITE sip:a@b SIP/2.0', ...HEAD, bad]));
      expect(e.code, bad).toBe('bad_header');
      expect(e.partial?.headers.length).toBe(HEAD.length);
    }
    expect(code(msg(['INVITE sip:a@b SIP/2.0', ' folded-first: x', ...HEAD]))).toBe('bad_header');
  });

  it('a header section without the empty line is incomplete', () => {
    expect(code(Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${HEAD.join('\r\n')}\r\n`))).toBe('incomplete');
    expect(code(Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${HEAD.join('\r\n')}`))).toBe('incomplete');
  });
});

describe('parseMessage: mandatory and scalar headers', () => {
  it.each([
    ['Via', 'missing_header'],
    ['From', 'missing_header'],
    ['To', 'missing_header'],
    ['Call-ID', 'missing_header'],
    ['CSeq', 'missing_header'],
  ] as const)('without %s -> %s, partial set', (name, expected) => {
    const buf = msg(['INVITE sip:a@b SIP/2.0', ...HEAD.filter((h) => !h.startsWith(`${name}:`))]);
    const e = errorOf(buf);
    expect(e.code).toBe(expected);
    expect(e.partial).toBeDefined();
  });

  it.each(['256', '-1', '7a', '', '1 2'])('Max-Forwards %j -> bad_max_forwards', (v) => {
    const head = HEAD.filter((h) => !h.startsWith('Max-Forwards'));
    expect(code(msg(['INVITE sip:a@b SIP/2.0', ...head, `Max-Forwards: ${v}`]))).toBe('bad_max_forwards');
  });

  it.each([
    [['Max-Forwards: 5'], 'duplicate_header'],
    [['Via:'], 'bad_via'],
    [['Via: SIP/2.0/UDP h;branch=z9hG4bK1, '], 'bad_via'],
    [['From: <sip:x@y>;tag=2'], 'duplicate_header'],
    [['CSeq: 4294967296 INVITE'], 'duplicate_header'],
  ] as const)('%j -> %s', (extra, expected) => {
    expect(code(invite([...extra]))).toBe(expected);
  });

  it('CSeq bounds (RFC 4475 §3.1.2.4): 2^32-1 accepted, 2^32 refused', () => {
    const withCSeq = (c: string) =>
      msg(['OPTIONS sip:a@b SIP/2.0', ...HEAD.filter((h) => !h.startsWith('CSeq')), `CSeq: ${c}`]);
    expect(parseMessage(withCSeq('4294967295 OPTIONS')).cseq.seq).toBe(4294967295);
    expect(code(withCSeq('4294967296 OPTIONS'))).toBe('bad_cseq');
    expect(code(withCSeq('OPTIONS'))).toBe('bad_cseq');
    expect(code(withCSeq('1OPTIONS'))).toBe('bad_cseq');
    expect(code(withCSeq('1 OPTIONS extra'))).toBe('bad_cseq');
  });

  it('CSeq method must match, except for ACK and CANCEL', () => {
    const head = HEAD.filter((h) => !h.startsWith('CSeq'));
    expect(code(msg(['BYE sip:a@b SIP/2.0', ...head, 'CSeq: 1 INVITE']))).toBe('cseq_method_mismatch');
    expect(parseMessage(msg(['ACK sip:a@b SIP/2.0', ...head, 'CSeq: 1 ACK'])).cseq.method).toBe('ACK');
    expect(parseMessage(msg(['ACK sip:a@b SIP/2.0', ...head, 'CSeq: 1 INVITE'])).cseq.method).toBe('INVITE');
    // Responses carry the request's method; nothing to compare.
    expect(parseMessage(msg(['SIP/2.0 200 OK', ...head, 'CSeq: 1 BYE'])).cseq.method).toBe('BYE');
  });

  it('an empty Call-ID is bad_header', () => {
    const head = HEAD.filter((h) => !h.startsWith('Call-ID'));
    expect(code(msg(['INVITE sip:a@b SIP/2.0', ...head, 'Call-ID:']))).toBe('bad_header');
    expect(code(msg(['INVITE sip:a@b SIP/2.0', ...head, 'Call-ID:  ', ' ']))).toBe('bad_header');
  });

  it('malformed Request-URI -> bad_uri with partial', () => {
    const e = errorOf(msg(['INVITE sip:a@b:notaport SIP/2.0', ...HEAD]));
    expect([e.code, (e.partial as SipRequest).uri]).toEqual(['bad_uri', 'sip:a@b:notaport']);
  });
});

describe('parseMessage: body framing (RFC 3261 §18.3, §20.14)', () => {
  it('body is exactly Content-Length octets; trailing datagram octets are ignored', () => {
    const buf = Buffer.concat([invite([], 'v=0\r\n'), Buffer.from('garbage')]);
    const m = parseMessage(buf);
    expect(m.body.toString()).toBe('v=0\r\n');
    expect(m.contentLength).toBe(5);
  });

  it('without Content-Length a datagram body is the rest; a stream frame is refused', () => {
    const buf = msg(['INVITE sip:a@b SIP/2.0', ...HEAD], 'abc');
    expect(parseMessage(buf).body.toString()).toBe('abc');
    expect(code(buf, undefined, true)).toBe('bad_content_length');
  });

  it('repeated equal Content-Length values are fine; conflicting, signed or junk ones are not', () => {
    expect(parseMessage(invite(['Content-Length: 2'], 'hi')).body.toString()).toBe('hi');
    expect(code(invite(['Content-Length: 3'], 'hi'))).toBe('bad_content_length');
    expect(code(invite(['l: +2'], 'hi'))).toBe('bad_content_length');
    expect(code(msg(['INVITE sip:a@b SIP/2.0', ...HEAD, 'Content-Length: two'], 'hi'))).toBe(
      'bad_content_length',
    );
    expect(code(msg(['INVITE sip:a@b SIP/2.0', ...HEAD, 'Content-Length: 99999999999'], 'hi'))).toBe(
      'bad_content_length',
    );
  });

  it('a folded Content-Length value is read whole', () => {
    const m = parseMessage(msg(['INVITE sip:a@b SIP/2.0', ...HEAD, 'Content-Length:', ' 2'], 'hi'));
    expect(m.body.toString()).toBe('hi');
  });

  it('datagram bodies are views; stream bodies are copies the caller cannot clobber', () => {
    const buf = invite([], 'abcd');
    const view = parseMessage(buf);
    const copy = parseMessage(buf, undefined, { stream: true });
    buf.fill(0x21, buf.length - 4);
    expect(view.body.toString()).toBe('!!!!');
    expect(copy.body.toString()).toBe('abcd');
  });
});

describe('limits', () => {
  it('too_large, too_many_headers, line_too_long', () => {
    const big = invite([], 'x'.repeat(2000));
    expect(code(big, { maxMessageSize: 1000 })).toBe('too_large');
    expect(parseMessage(big).body.length).toBe(2000);
    const many = invite(Array.from({ length: 20 }, (_, i) => `X-H${i}: ${i}`));
    expect(code(many, { maxHeaders: 20 })).toBe('too_many_headers');
    expect(parseMessage(many, { maxHeaders: 27 }).headers.length).toBe(27);
    const long = invite([`X-Long: ${'y'.repeat(300)}`]);
    expect(code(long, { maxLineLength: 200 })).toBe('line_too_long');
    expect(code(msg([`INVITE sip:${'a'.repeat(300)}@b SIP/2.0`, ...HEAD]), { maxLineLength: 200 })).toBe(
      'line_too_long',
    );
    expect(DEFAULT_MESSAGE_LIMITS).toEqual({ maxMessageSize: 65536, maxHeaders: 256, maxLineLength: 8192 });
  });

  it('a 64 KiB message of junk octets fails fast with a SipParseError', () => {
    const junk = Buffer.alloc(65536, 0x41);
    expect(code(junk)).toBe('line_too_long');
  });
});

describe('frameLength / skipKeepAlive (RFC 3261 §18.3, RFC 5626 §3.5.1)', () => {
  const L = DEFAULT_MESSAGE_LIMITS;

  it('returns the total length of a complete message, -1 while bytes are missing', () => {
    const one = invite([], 'v=0\r\n');
    expect(frameLength(one, 0, L)).toBe(one.length);
    for (let cut = 0; cut < one.length; cut++) expect(frameLength(one.subarray(0, cut), 0, L)).toBe(-1);
  });

  it('finds messages back to back from an offset', () => {
    const a = invite([], 'abc');
    const b = msg(['SIP/2.0 200 OK', ...HEAD, 'l: 0']);
    const stream = Buffer.concat([a, b, a]);
    expect(frameLength(stream, 0, L)).toBe(a.length);
    expect(frameLength(stream, a.length, L)).toBe(b.length);
    expect(frameLength(stream, a.length + b.length, L)).toBe(a.length);
  });

  it('counts keep-alive CRLFs before a message; skipKeepAlive lets the caller answer pings first', () => {
    const ping = Buffer.from('\r\n\r\n');
    const m = invite();
    const stream = Buffer.concat([ping, m]);
    expect(skipKeepAlive(stream, 0)).toBe(4);
    expect(frameLength(stream, 0, L)).toBe(stream.length);
    expect(frameLength(stream, 4, L)).toBe(m.length);
    expect(frameLength(ping, 0, L)).toBe(-1);
    expect(skipKeepAlive(ping, 0)).toBe(4);
  });

  it('reads compact, folded, padded and bare-LF Content-Length headers', () => {
    const variants = [
      msg(['OPTIONS sip:a@b SIP/2.0', 'l: 2'], 'hi'),
      msg(['OPTIONS sip:a@b SIP/2.0', 'CONTENT-LENGTH   :   002  '], 'hi'),
      msg(['OPTIONS sip:a@b SIP/2.0', 'Content-Length:', '  2'], 'hi'),
      msg(['OPTIONS sip:a@b SIP/2.0', 'Content-Length: 2'], 'hi', '\n'),
      msg(['OPTIONS sip:a@b SIP/2.0', 'Content-Type: text/plain', 'Content-Length: 2'], 'hi'),
    ];
    for (const v of variants) expect(frameLength(v, 0, L), v.toString()).toBe(v.length);
  });

  it.each([
    [msg(['OPTIONS sip:a@b SIP/2.0', 'Via: x'], ''), 'bad_content_length'],
    [msg(['OPTIONS sip:a@b SIP/2.0', 'l: -1'], ''), 'bad_content_length'],
    [msg(['OPTIONS sip:a@b SIP/2.0', 'l: 1', 'Content-Length: 2'], 'hi'), 'bad_content_length'],
    [msg(['OPTIONS sip:a@b SIP/2.0', 'l: 65536'], ''), 'too_large'],
  ] as const)('throws %#: %s', (buf, expected) => {
    expect(() => frameLength(buf, 0, L)).toThrow(expect.objectContaining({ code: expected }));
  });

  it('enforces line length, header count and size on incomplete input too', () => {
    const limits = { maxMessageSize: 2000, maxHeaders: 5, maxLineLength: 100 };
    expect(() => frameLength(Buffer.alloc(101, 0x41), 0, limits)).toThrow(
      expect.objectContaining({ code: 'line_too_long' }),
    );
    const lines = Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${'X: 1\r\n'.repeat(6)}`);
    expect(() => frameLength(lines, 0, limits)).toThrow(
      expect.objectContaining({ code: 'too_many_headers' }),
    );
    const tall = Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${'X: 12345678901234567890\r\n'.repeat(4)}`);
    expect(() => frameLength(tall, 0, { ...limits, maxMessageSize: 100 })).toThrow(
      expect.objectContaining({ code: 'too_large' }),
    );
  });
});

describe('adversarial shapes stay linear', () => {
  it('thousands of lines without a colon are refused (too_many_headers / bad_header)', () => {
    const junk = Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${'x\r\n'.repeat(20_000)}\r\n`);
    expect(code(junk)).toBe('too_many_headers');
    const lines = Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${'x\r\n'.repeat(1000)}Via: a:b\r\n\r\n`);
    expect(code(lines)).toBe('bad_header');
  });

  it('folded lines count against the line budget', () => {
    const folded = Buffer.from(`INVITE sip:a@b SIP/2.0\r\nX: a\r\n${' b\r\n'.repeat(2000)}\r\n`);
    expect(code(folded)).toBe('too_many_headers');
  });
});

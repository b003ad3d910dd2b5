/**
 * RFC 4475 torture messages (test/fixtures/torture, copied byte for byte from the RFC's Appendix B archive).
 * One case per message: valid ones parse with the fields the RFC describes; invalid and semantic ones either
 * fail with the code the element turns into a response, or — where the RFC allows a liberal reading and we take
 * it — parse, and the case name says "liberal".
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SipParseError, type SipParseErrorCode } from '../../../../src/sip/message/errors.js';
import { wireTextToUnicode } from '../../../../src/sip/message/headers.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import { DEFAULT_MESSAGE_LIMITS, frameLength, parseMessage } from '../../../../src/sip/message/parse.js';
import { serializeMessage } from '../../../../src/sip/message/serialize.js';
import type { OtherUri, SipUri } from '../../../../src/sip/message/types.js';
import { unescapeUriPart, uriUserNumber } from '../../../../src/sip/message/uri.js';

const DIR = new URL('../../../fixtures/torture/', import.meta.url);
const load = (name: string): Buffer => readFileSync(new URL(name, DIR));

function req(file: string): SipRequest {
  const m = parseMessage(load(file));
  if (!m.isRequest()) throw new Error(`${file} is not a request`);
  return m;
}

function res(file: string): SipResponse {
  const m = parseMessage(load(file));
  if (m.isRequest()) throw new Error(`${file} is not a response`);
  return m as SipResponse;
}

function failure(input: string | Buffer, opts?: { stream?: boolean }): SipParseError {
  const buf = typeof input === 'string' ? load(input) : input;
  try {
    parseMessage(buf, undefined, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    return e as SipParseError;
  }
  throw new Error('expected a SipParseError');
}

const sip = (u: unknown): SipUri => u as SipUri;

type Verdict = 'valid' | 'invalid' | 'semantic' | 'unspecified';
interface Case {
  readonly verdict: Verdict;
  readonly title: string;
  /** Undefined: the message parses. Otherwise the code it fails with. */
  readonly code?: SipParseErrorCode;
  /** Whether the failure carries a partial message a 4xx/5xx can be built from. */
  readonly partial?: boolean;
  readonly check: () => void;
}

const CASES: Record<string, Case> = {
  'wsinv.dat': {
    verdict: 'valid',
    title: 'folding, odd LWS, mixed case and compact names, unknown headers and params',
    check() {
      const m = req('wsinv.dat');
      expect(m.method).toBe('INVITE');
      const ruri = sip(m.requestUri);
      expect([ruri.user, ruri.host, [...ruri.params]]).toEqual([
        'vivekg',
        'chair-dnrc.example.com',
        [['unknownparam', null]],
      ]);
      expect(sip(m.to.uri).user).toBe('vivekg');
      expect(m.to.tag).toBe('1918181833n');
      expect(m.from.displayName).toBe('J Rosenberg \\"');
      expect(m.from.tag).toBe('98asjd8');
      expect(m.maxForwards).toBe(68);
      expect(m.callId).toBe('wsinv.ndaksdj@192.0.2.1');
      expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
      expect(m.via.map((v) => [v.protocol, v.transport, v.host, v.branch])).toEqual([
        ['SIP/2.0', 'UDP', '192.0.2.2', '390skdjuw'],
        ['SIP/2.0', 'TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['SIP/2.0', 'UDP', '192.168.255.111', 'z9hG4bK30239'],
      ]);
      expect(m.get('subject')).toBe('');
      expect(m.get('NEWFANGLEDHEADER')).toBe('newfangled value continued newfangled value');
      expect(m.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
      const c = m.contact[0]!;
      expect(c.displayName).toBe('Quoted string ""');
      expect([...c.params]).toEqual([
        ['newparam', 'newvalue'],
        ['secondparam', null],
        ['q', '0.33'],
      ]);
      const route = sip(m.route[0]!.uri);
      expect([...route.params]).toEqual([
        ['lr', null],
        ['unknownwith', 'value'],
        ['unknown-no-value', null],
      ]);
      expect(m.body.length).toBe(150);
      expect(m.contentLength).toBe(150);
    },
  },
  'intmeth.dat': {
    verdict: 'valid',
    title: 'unusual but legal characters everywhere; unknown method',
    check() {
      const m = req('intmeth.dat');
      expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
      expect(m.cseq).toEqual({ seq: 139122385, method: m.method });
      const ruri = sip(m.requestUri);
      expect(ruri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      expect(ruri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
      expect(ruri.host).toBe('example.com');
      expect(m.to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
      expect(m.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
      expect(m.from.tag).toBe("_token~1'+`*%!-.");
      expect(wireTextToUnicode(m.from.params.get("fromparam''~+*_!.-%")!)).toBe('"работающий"');
      expect(m.callId).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
      expect(m.via[0]!.branch).toBe("z9hG4bK-.!%66*_+`'~");
      expect(m.maxForwards).toBe(255);
      expect(wireTextToUnicode(m.get("extensionHeader-!.%*+_`'~")!)).toBe('\ufeff大停電');
    },
  },
  'esc01.dat': {
    verdict: 'valid',
    title: 'legal %-escapes in URIs compare equal after unescaping',
    check() {
      const m = req('esc01.dat');
      const ruri = sip(m.requestUri);
      expect(unescapeUriPart(ruri.user!)).toBe('sips:user@example.com');
      expect(ruri.host).toBe('example.net');
      expect(uriUserNumber(m.to.uri)).toBe('user');
      expect(unescapeUriPart(sip(m.from.uri).user!)).toBe('I have spaces');
      expect(m.callId).toBe('esc01.239409asdfakjkn23onasd0-3234');
      expect(m.get('content-type')).toBe('application/sdp');
      const contact = sip(m.contact[0]!.uri);
      expect(unescapeUriPart(contact.user!)).toBe('caller');
      expect(contact.params.get('%6c%72')).toBeNull();
      expect(unescapeUriPart(contact.params.get('n%61me')!)).toBe('value%41');
      expect(m.body.length).toBe(150);
    },
  },
  'escnull.dat': {
    verdict: 'valid',
    title: '%00 in URI user parts',
    check() {
      const m = req('escnull.dat');
      expect(uriUserNumber(m.to.uri)).toBe('null-\x00-null');
      expect(uriUserNumber(m.from.uri)).toBe('null-\x00-null');
      expect(m.contact.map((c) => uriUserNumber(c.uri))).toEqual(['\x00', '\x00\x00']);
    },
  },
  'esc02.dat': {
    verdict: 'valid',
    title: '% that is not an escape: RE%47IST%45R is an unknown method, C%6Fntact an unknown header',
    check() {
      const m = req('esc02.dat');
      expect(m.method).toBe('RE%47IST%45R');
      expect(m.cseq.method).toBe('RE%47IST%45R');
      expect(m.to.displayName).toBe('%Z%45');
      expect(m.via[0]!.branch).toBe('z9hG4bK209%fzsnel234');
      expect(m.contact.map((c) => sip(c.uri).host)).toEqual(['host1.example.com', 'host3.example.com']);
      expect(m.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
    },
  },
  'lwsdisp.dat': {
    verdict: 'valid',
    title: 'no LWS between display name and <',
    check() {
      const m = req('lwsdisp.dat');
      expect(m.from.displayName).toBe('caller');
      expect(sip(m.from.uri).user).toBe('caller');
      expect(m.from.tag).toBe('323');
    },
  },
  'longreq.dat': {
    verdict: 'valid',
    title: 'long values and 34 Via values',
    check() {
      const m = req('longreq.dat');
      expect(m.via.length).toBe(34);
      expect(m.via[0]!.host).toBe('sip33.example.com');
      expect(m.via[33]!.received).toBe('192.0.2.5');
      expect(m.via[33]!.branch!.length).toBeGreaterThan(200);
      expect(m.to.displayName).toMatch(/^I have a user name of (extreme)+ proportion$/);
      expect(sip(m.to.uri).port).toBe(6000);
      expect(sip(m.from.uri).user).toMatch(/^(amazinglylongcallername)+$/);
      expect(m.from.tag).toMatch(/^1(298)+2424$/);
      expect(m.callId).toMatch(/^longreq\.one(really)+longcallid$/);
      expect(m.body.length).toBe(150);
    },
  },
  'dblreq.dat': {
    verdict: 'valid',
    title: 'datagram with trailing octets: only the first request (Content-Length 0) is processed',
    check() {
      const m = req('dblreq.dat');
      expect(m.method).toBe('REGISTER');
      expect(m.callId).toBe('dblreq.0ha0isndaksdj99sdfafnl3lk233412');
      expect(m.body.length).toBe(0);
      expect(sip(m.contact[0]!.uri).host).toBe('host.example.com');
    },
  },
  'semiuri.dat': {
    verdict: 'valid',
    title: 'semicolons in the Request-URI user part',
    check() {
      const m = req('semiuri.dat');
      const ruri = sip(m.requestUri);
      expect(ruri.user).toBe('user;par=u%40example.net');
      expect(ruri.host).toBe('example.com');
      expect(ruri.params.size).toBe(0);
      expect(uriUserNumber(ruri)).toBe('user');
      expect(m.getAll('accept')).toEqual([
        'application/sdp',
        'application/pkcs7-mime',
        'multipart/mixed',
        'multipart/signed',
        'message/sip',
        'message/sipfrag',
      ]);
    },
  },
  'transports.dat': {
    verdict: 'valid',
    title: 'unknown transports in Via',
    check() {
      const m = req('transports.dat');
      expect(m.via.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
      expect(m.callId).toBe('transports.kijh4akdnaqjkwendsasfdj');
    },
  },
  'mpart01.dat': {
    verdict: 'valid',
    title: 'multipart body with raw CR/LF octets, framed by Content-Length',
    check() {
      const buf = load('mpart01.dat');
      const m = req('mpart01.dat');
      expect(m.method).toBe('MESSAGE');
      expect(m.body.length).toBe(553);
      expect(m.body.equals(buf.subarray(buf.length - 553))).toBe(true);
      expect(m.get('content-type')).toBe('multipart/mixed;boundary=7a9cbec02ceef655');
      expect(m.via[0]!.rport).toBeNull();
    },
  },
  'unreason.dat': {
    verdict: 'valid',
    title: '200 with a long UTF-8 reason phrase',
    check() {
      const m = res('unreason.dat');
      expect(m.status).toBe(200);
      expect(wireTextToUnicode(m.reason)).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
      expect(m.body.length).toBe(154);
    },
  },
  'noreason.dat': {
    verdict: 'valid',
    title: 'empty reason phrase',
    check() {
      const m = res('noreason.dat');
      expect([m.status, m.reason]).toEqual([100, '']);
      expect(m.to.tag).toBe('902jndnke3');
    },
  },
  'badinv01.dat': {
    verdict: 'invalid',
    title: 'empty Via elements (;;,;,,) are refused',
    code: 'bad_via',
    partial: true,
    check() {
      const e = failure('badinv01.dat');
      expect(e.partial!.callId).toBe('badinv01.0ha0isndaksdjasdf3234nas');
    },
  },
  'clerr.dat': {
    verdict: 'invalid',
    title: 'Content-Length beyond the datagram is incomplete (400); on a stream it waits for more',
    code: 'incomplete',
    partial: true,
    check() {
      expect(frameLength(load('clerr.dat'), 0, DEFAULT_MESSAGE_LIMITS)).toBe(-1);
      expect(failure('clerr.dat', { stream: true }).code).toBe('incomplete');
    },
  },
  'ncl.dat': {
    verdict: 'invalid',
    title: 'negative Content-Length',
    code: 'bad_content_length',
    partial: true,
    check() {
      expect(() => frameLength(load('ncl.dat'), 0, DEFAULT_MESSAGE_LIMITS)).toThrow(SipParseError);
    },
  },
  'scalar02.dat': {
    verdict: 'invalid',
    title: 'CSeq beyond 2^32-1 forces 400',
    code: 'bad_cseq',
    partial: true,
    check() {
      expect(failure('scalar02.dat').partial!.callId).toBe('scalar02.23o0pd9vanlq3wnrlnewofjas9ui32');
    },
  },
  'scalarlg.dat': {
    verdict: 'invalid',
    title: 'response with overlarge CSeq is refused (dropped)',
    code: 'bad_cseq',
    partial: true,
    check() {},
  },
  'quotbal.dat': {
    verdict: 'invalid',
    title: 'unterminated quoted display name in To',
    code: 'bad_name_addr',
    partial: true,
    check() {},
  },
  'ltgtruri.dat': {
    verdict: 'invalid',
    title: '<> around the Request-URI',
    code: 'bad_uri',
    partial: true,
    check() {
      expect((failure('ltgtruri.dat').partial as SipRequest).uri).toBe('<sip:user@example.com>');
    },
  },
  'lwsruri.dat': {
    verdict: 'invalid',
    title: 'LWS inside the Request-URI',
    code: 'bad_start_line',
    partial: true,
    check() {
      const p = failure('lwsruri.dat').partial as SipRequest;
      expect(p.method).toBe('INVITE');
      expect(p.get('call-id')).toBe('lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423');
    },
  },
  'lwsstart.dat': {
    verdict: 'invalid',
    title: 'liberal: runs of SP between request-line elements are accepted',
    check() {
      const m = req('lwsstart.dat');
      expect([m.method, m.uri, m.version]).toEqual(['INVITE', 'sip:user@example.com', 'SIP/2.0']);
      expect(m.body.length).toBe(150);
    },
  },
  'trws.dat': {
    verdict: 'invalid',
    title: 'liberal: trailing SP after SIP-Version is ignored',
    check() {
      const m = req('trws.dat');
      expect([m.method, m.uri, m.version]).toEqual(['OPTIONS', 'sip:remote-target@example.com', 'SIP/2.0']);
    },
  },
  'escruri.dat': {
    verdict: 'invalid',
    title: 'headers in the Request-URI are refused, never turned into header fields',
    code: 'bad_uri',
    partial: true,
    check() {
      const p = failure('escruri.dat').partial!;
      expect(p.has('route')).toBe(false);
    },
  },
  'baddate.dat': {
    verdict: 'invalid',
    title: 'liberal: a Date with a non-GMT zone is kept raw (we never read Date)',
    check() {
      const m = req('baddate.dat');
      expect(m.get('date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
    },
  },
  'regbadct.dat': {
    verdict: 'invalid',
    title: 'Contact URI with "?" but no <>: message parses, Contact is refused when read',
    check() {
      const m = req('regbadct.dat');
      expect(() => m.contact).toThrow(expect.objectContaining({ code: 'bad_name_addr' }));
    },
  },
  'badaspec.dat': {
    verdict: 'invalid',
    title: 'liberal: LWS just inside <> of To is ignored',
    check() {
      const m = req('badaspec.dat');
      expect(m.to.displayName).toBe('Watson, Thomas');
      expect(sip(m.to.uri).user).toBe('t.watson');
      expect(sip(m.to.uri).host).toBe('example.org');
      expect(m.from.displayName).toBe('Bell, Alexander');
    },
  },
  'baddn.dat': {
    verdict: 'invalid',
    title:
      'no empty line ends the header section (incomplete); with one, the unquoted "Bell, Alexander" is refused',
    code: 'incomplete',
    partial: true,
    check() {
      const fixed = Buffer.concat([load('baddn.dat'), Buffer.from('\r\n')]);
      const e = failure(fixed);
      expect(e.code).toBe('bad_name_addr');
      expect(e.partial).toBeDefined();
    },
  },
  'badvers.dat': {
    verdict: 'semantic',
    title: 'SIP/7.0 is bad_version (505) with a partial message',
    code: 'bad_version',
    partial: true,
    check() {
      const p = failure('badvers.dat').partial as SipRequest;
      expect(p.version).toBe('SIP/7.0');
      expect(p.get('call-id')).toBe('badvers.31417@c.example.com');
    },
  },
  'mismatch01.dat': {
    verdict: 'semantic',
    title: 'OPTIONS with CSeq INVITE (400)',
    code: 'cseq_method_mismatch',
    partial: true,
    check() {},
  },
  'mismatch02.dat': {
    verdict: 'semantic',
    title: 'unknown method with mismatching CSeq method: cseq_method_mismatch (400 is allowed)',
    code: 'cseq_method_mismatch',
    partial: true,
    check() {
      expect((failure('mismatch02.dat').partial as SipRequest).method).toBe('NEWMETHOD');
    },
  },
  'bigcode.dat': {
    verdict: 'invalid',
    title: 'status code 4294967301 (dropped)',
    code: 'bad_status_code',
    partial: false,
    check() {},
  },
  'badbranch.dat': {
    verdict: 'semantic',
    title: 'branch that is only the magic cookie parses (the transaction layer decides)',
    check() {
      expect(req('badbranch.dat').topVia!.branch).toBe('z9hG4bK');
    },
  },
  'insuf.dat': {
    verdict: 'semantic',
    title: 'missing To, From, Call-ID: missing_header (400) with a partial message',
    code: 'missing_header',
    partial: true,
    check() {
      const p = failure('insuf.dat').partial!;
      expect(p.get('cseq')).toBe('193942 INVITE');
      expect(p.has('to')).toBe(false);
    },
  },
  'unkscm.dat': {
    verdict: 'semantic',
    title: 'unknown Request-URI scheme parses as an opaque URI (416 is the element’s call)',
    check() {
      const u = req('unkscm.dat').requestUri as OtherUri;
      expect(u).toEqual({
        scheme: 'nobodyknowsthisscheme',
        raw: 'nobodyKnowsThisScheme:totallyopaquecontent',
      });
    },
  },
  'novelsc.dat': {
    verdict: 'semantic',
    title: 'soap.beep Request-URI parses as an opaque URI',
    check() {
      expect(req('novelsc.dat').requestUri.scheme).toBe('soap.beep');
    },
  },
  'unksm2.dat': {
    verdict: 'semantic',
    title: 'non-SIP schemes in To, From, Contact parse',
    check() {
      const m = req('unksm2.dat');
      expect(m.to.uri).toEqual({ scheme: 'isbn', raw: 'isbn:2983792873' });
      expect(m.from.uri.scheme).toBe('http');
      expect(m.from.tag).toBe('3234233');
      expect(m.contact[0]!.uri.scheme).toBe('name');
    },
  },
  'bext01.dat': {
    verdict: 'semantic',
    title: 'unknown option tags are readable for 420',
    check() {
      const m = req('bext01.dat');
      expect(m.getAll('require')).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
      expect(m.getAll('proxy-require')).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
      expect(m.topVia!.transport).toBe('TLS');
    },
  },
  'invut.dat': {
    verdict: 'semantic',
    title: 'unknown Content-Type parses (415 is the UAS’s call)',
    check() {
      const m = req('invut.dat');
      expect(m.get('content-type')).toBe('application/unknownformat');
      expect(m.body.toString('latin1')).toBe('<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
    },
  },
  'regaut01.dat': {
    verdict: 'semantic',
    title: 'unknown Authorization scheme kept verbatim',
    check() {
      expect(req('regaut01.dat').get('authorization')).toBe('NoOneKnowsThisScheme opaque-data=here');
    },
  },
  'multi01.dat': {
    verdict: 'semantic',
    title: 'repeated Call-ID, To, From, CSeq: duplicate_header (400)',
    code: 'duplicate_header',
    partial: true,
    check() {
      expect(failure('multi01.dat').partial!.count('cseq')).toBe(2);
    },
  },
  'mcl01.dat': {
    verdict: 'semantic',
    title: 'conflicting Content-Length values are a framing error',
    code: 'bad_content_length',
    partial: true,
    check() {
      expect(() => frameLength(load('mcl01.dat'), 0, DEFAULT_MESSAGE_LIMITS)).toThrow(
        expect.objectContaining({ code: 'bad_content_length' }),
      );
    },
  },
  'bcast.dat': {
    verdict: 'semantic',
    title: 'broadcast second Via parses (the element drops the response)',
    check() {
      const m = res('bcast.dat');
      expect(m.via.map((v) => v.host)).toEqual(['192.0.2.198', '255.255.255.255']);
    },
  },
  'zeromf.dat': {
    verdict: 'semantic',
    title: 'Max-Forwards 0 parses (483 is a proxy’s call)',
    check() {
      expect(req('zeromf.dat').maxForwards).toBe(0);
    },
  },
  'cparam01.dat': {
    verdict: 'valid',
    title: 'Contact without <>: unknownparam is a header parameter',
    check() {
      const c = req('cparam01.dat').contact[0]!;
      expect(c.angle).toBe(false);
      expect(sip(c.uri).params.size).toBe(0);
      expect([...c.params]).toEqual([['unknownparam', null]]);
    },
  },
  'cparam02.dat': {
    verdict: 'valid',
    title: 'Contact with <>: unknownparam is a URI parameter',
    check() {
      const c = req('cparam02.dat').contact[0]!;
      expect(c.angle).toBe(true);
      expect([...sip(c.uri).params]).toEqual([['unknownparam', null]]);
      expect(c.params.size).toBe(0);
    },
  },
  'regescrt.dat': {
    verdict: 'valid',
    title: 'escaped Route header inside <> of Contact is kept in the URI',
    check() {
      const c = req('regescrt.dat').contact[0]!;
      expect(sip(c.uri).headers).toBe('Route=%3Csip:sip.example.com%3E');
    },
  },
  'sdp01.dat': {
    verdict: 'semantic',
    title: 'Accept without application/sdp is readable for 406',
    check() {
      expect(req('sdp01.dat').getAll('accept')).toEqual(['text/nobodyKnowsThis']);
    },
  },
  'inv2543.dat': {
    verdict: 'valid',
    title: 'RFC 2543 INVITE: no branch cookie, no Max-Forwards, no Content-Length (body = rest of datagram)',
    check() {
      const m = req('inv2543.dat');
      expect(m.topVia!.branch).toBeUndefined();
      expect(m.maxForwards).toBeUndefined();
      expect(m.has('content-length')).toBe(false);
      expect(m.body.toString('latin1')).toMatch(/^v=0\r\n[\s\S]*m=audio 49217 RTP\/AVP 0\r\n$/);
      // RFC 3261 §20.10: without <>, ;user=phone belongs to To, not to its URI.
      expect(m.to.params.get('user')).toBe('phone');
      expect(sip(m.to.uri).params.size).toBe(0);
      expect(sip(m.from.uri).params.get('user')).toBe('phone');
      expect(sip(m.recordRoute[0]!.uri).params.get('maddr')).toBe('ss1.example.com');
    },
  },
  'test.dat': {
    verdict: 'unspecified',
    title: 'request line without SIP-Version',
    code: 'bad_start_line',
    partial: false,
    check() {},
  },
};

function indexVerdicts(): Map<string, Verdict> {
  const text = readFileSync(new URL('INDEX.md', DIR), 'utf8');
  const out = new Map<string, Verdict>();
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length > 6 && cells[1]!.endsWith('.dat')) out.set(cells[1]!, cells[5] as Verdict);
  }
  return out;
}

describe('RFC 4475 torture fixtures', () => {
  it('are byte-exact copies (SHA256SUMS)', () => {
    const sums = readFileSync(new URL('SHA256SUMS', DIR), 'utf8').trim().split('\n');
    expect(sums.length).toBe(50);
    for (const line of sums) {
      const [hash, name] = line.split(/\s+/);
      expect(createHash('sha256').update(load(name!)).digest('hex'), name).toBe(hash);
    }
  });

  it('every fixture has exactly one case, with the verdict INDEX.md gives', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.dat'));
    expect(files.sort()).toEqual(Object.keys(CASES).sort());
    const verdicts = indexVerdicts();
    for (const [file, c] of Object.entries(CASES)) expect(verdicts.get(file), file).toBe(c.verdict);
  });
});

describe('RFC 4475 torture messages', () => {
  for (const [file, c] of Object.entries(CASES)) {
    it(`${file} (${c.verdict}): ${c.title}`, () => {
      if (c.code === undefined) {
        expect(() => parseMessage(load(file))).not.toThrow();
      } else {
        const e = failure(file);
        expect(e.code).toBe(c.code);
        expect(e.partial !== undefined).toBe(c.partial ?? false);
      }
      c.check();
    });
  }

  it('every message that parses round-trips: parse(serialize(parse(x))) equals parse(x)', () => {
    let n = 0;
    for (const [file, c] of Object.entries(CASES)) {
      if (c.code !== undefined) continue;
      const a = parseMessage(load(file));
      const b = parseMessage(serializeMessage(a));
      expect(summary(b), file).toEqual(summary(a));
      n++;
    }
    expect(n).toBe(32);
  });
});

function summary(m: SipMessage): unknown {
  return {
    start: m.isRequest()
      ? [m.method, m.uri, m.version]
      : [(m as SipResponse).status, (m as SipResponse).reason],
    headers: m.headers.map((h) => [h.name, h.value]).filter(([n]) => n !== 'content-length'),
    contentLength: m.contentLength,
    body: m.body.toString('hex'),
  };
}

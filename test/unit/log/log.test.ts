import { channel } from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { subscribeLogEvents } from '../../../src/log/log-events.js';
import { bindBLeg, callLogger, createLogger } from '../../../src/log/logger.js';
import { SIP_TRACE_CHANNEL } from '../../../src/log/sip-trace.js';
import { SipRequest } from '../../../src/sip/message/message.js';

type Level = Parameters<typeof createLogger>[0]['level'];

function capture(level: Level) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

const TOKEN =
  'eyJhbGciOiJFUzI1NiJ9.eyJhdHRlc3QiOiJBIn0.c2lnbmF0dXJl;info=<https://x5u.example/sp.pem>;ppt=shaken';

function invite(): SipRequest {
  const r = new SipRequest('INVITE', 'sip:+12025550199@example.net');
  r.append('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1');
  r.append('from', '<sip:+12025550100@example.com>;tag=a');
  r.append('to', '<sip:+12025550199@example.net>');
  r.append('call-id', 'call-1@example.com');
  r.append('cseq', '1 INVITE');
  r.append('identity', TOKEN);
  return r;
}

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

describe('createLogger', () => {
  it('redacts private keys, Identity tokens and SIP text above debug', () => {
    const { logger, lines } = capture('info');
    logger.info(
      {
        identity: TOKEN,
        jws: 'a.b.c',
        privateKey: 'KEY',
        headers: { identity: TOKEN },
        x: { privateKeyPem: 'PEM' },
        sipText: 'INVITE',
      },
      'm',
    );
    const text = JSON.stringify(lines);
    expect(text).not.toContain('eyJhbGci');
    expect(text).not.toContain('KEY');
    expect(text).not.toContain('PEM');
    expect(text).not.toContain('INVITE');
    expect(lines[0]!.identity).toBe('[redacted]');
    expect(lines[0]!.level).toBe('info');
    expect(lines[0]!.service).toBe('stirgate');
  });

  it('shows tokens at debug, where an operator is diagnosing a call', () => {
    const { logger, lines } = capture('debug');
    logger.debug({ identity: TOKEN }, 'm');
    expect(lines[0]!.identity).toBe(TOKEN);
  });

  it('summarises a SipMessage in the `sip` field: never headers or body, even at debug', () => {
    const { logger, lines } = capture('debug');
    logger.debug({ sip: invite() }, 'received');
    expect(lines[0]!.sip).toEqual({ method: 'INVITE', callId: 'call-1@example.com', cseq: '1 INVITE' });
    expect(JSON.stringify(lines)).not.toContain('eyJhbGci');
  });

  it('one child per call carries its ids on every line; the B-leg Call-ID is added once known', () => {
    const { logger, lines } = capture('info');
    const log = callLogger(logger, { call: 7, callId: 'a-leg@x', trunk: 'pbx', role: 'originating' });
    log.info('routing');
    bindBLeg(log, 'b-leg@y');
    log.info({ status: 200 }, 'answered');
    expect(lines[0]).toMatchObject({
      call: 7,
      callId: 'a-leg@x',
      trunk: 'pbx',
      role: 'originating',
      msg: 'routing',
    });
    expect(lines[1]).toMatchObject({ call: 7, callId: 'a-leg@x', bCallId: 'b-leg@y', status: 200 });
  });
});

describe('subscribeLogEvents', () => {
  it('logs handler exceptions at error, and leaves debug-only channels unsubscribed at info', () => {
    const { logger, lines } = capture('info');
    undo = subscribeLogEvents(logger);
    expect(channel('stirgate:transport:parse_error').hasSubscribers).toBe(false);
    expect(channel(SIP_TRACE_CHANNEL).hasSubscribers).toBe(false);
    channel('stirgate:transaction:handler_error').publish({ where: 'onRequest', error: new Error('boom') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      event: 'transaction:handler_error',
      where: 'onRequest',
    });
    expect((lines[0]!.err as { message: string }).message).toBe('boom');
    undo();
    undo = undefined;
    expect(channel('stirgate:transaction:handler_error').hasSubscribers).toBe(false);
  });

  it('logs certificate fetch failures at warn, not cache hits', () => {
    const { logger, lines } = capture('warn');
    undo = subscribeLogEvents(logger);
    channel('stirgate:stir:cert_cache').publish({ kind: 'hit' });
    channel('stirgate:stir:cert_cache').publish({ kind: 'fetch_error', code: 'cert_fetch_failed' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', code: 'cert_fetch_failed' });
  });

  it('rate-limits each event to 10 lines a second and reports what it suppressed', () => {
    const { logger, lines } = capture('debug');
    let now = 1_000_000;
    undo = subscribeLogEvents(logger, () => now);
    for (let i = 0; i < 25; i++)
      channel('stirgate:transport:parse_error').publish({ protocol: 'udp', code: 'bad_via' });
    expect(lines).toHaveLength(10);
    now += 1000;
    channel('stirgate:transport:parse_error').publish({ protocol: 'tcp', code: 'too_large' });
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatchObject({ level: 'debug', proto: 'tcp', code: 'too_large', suppressed: 15 });
  });

  it('writes full SIP traces only at trace level', () => {
    const info = capture('info');
    undo = subscribeLogEvents(info.logger);
    expect(channel(SIP_TRACE_CHANNEL).hasSubscribers).toBe(false);
    undo();

    const { logger, lines } = capture('trace');
    undo = subscribeLogEvents(logger);
    expect(channel(SIP_TRACE_CHANNEL).hasSubscribers).toBe(true);
    const remote = { address: '127.0.0.1', port: 5062 };
    channel(SIP_TRACE_CHANNEL).publish({ direction: 'in', protocol: 'udp', remote, data: invite() });
    channel(SIP_TRACE_CHANNEL).publish({
      direction: 'out',
      protocol: 'tcp',
      remote,
      data: Buffer.from('SIP/2.0 200 OK\r\n\r\n'),
    });
    const traces = lines.filter((l) => l.event === 'sip_trace');
    expect(traces).toHaveLength(2);
    expect(traces[0]).toMatchObject({ level: 'trace', dir: 'in', proto: 'udp', remote: '127.0.0.1:5062' });
    expect(traces[0]!.sipText).toContain('INVITE sip:+12025550199@example.net SIP/2.0');
    expect(traces[0]!.sipText).toContain(TOKEN);
    expect(traces[1]!.sipText).toBe('SIP/2.0 200 OK\r\n\r\n');
  });
});

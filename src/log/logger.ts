import { type LevelWithSilent, type Logger, pino } from 'pino';
import { sipSummary } from './sip-summary.js';

export type { Logger } from 'pino';
export { bindBLeg, type CallLogIds, callLogger } from './call-logger.js';
export { sipSummary } from './sip-summary.js';

/**
 * Paths never logged above debug: private keys and full Identity tokens (ATIS-1000074 tokens identify
 * callers; a key in a log is a key compromise). pino removes them at serialisation, so the hot path
 * pays nothing unless a line is actually written.
 */
const REDACT = [
  'privateKey',
  '*.privateKey',
  'privateKeyPem',
  '*.privateKeyPem',
  'spKeyPem',
  '*.spKeyPem',
  'config.stir.signing.privateKeyFile',
  'identity',
  '*.identity',
  'headers.identity',
  'jws',
  '*.jws',
  'sipText',
];

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** A destination stream (tests); stdout when absent. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level;
  // At debug/trace an operator is diagnosing a call; tokens are shown then, never above.
  const redact = level === 'debug' || level === 'trace' ? [] : REDACT;
  return pino(
    {
      level,
      base: { service: 'stirgate' },
      redact: { paths: redact, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // `sip`: a SipMessage summarised (method/status, Call-ID, CSeq) — never headers or body.
      serializers: { err: pino.stdSerializers.err, sip: sipSummary },
    },
    opts.destination ?? process.stdout,
  );
}

import { describe, expect, it } from 'vitest';
import { parseTokenFile, TokenFileError } from '../../../src/admin/token-file.js';
import {
  MAX_WINDOW_MS,
  parseTime,
  TracebackRequestError,
  tracebackQuery,
} from '../../../src/admin/traceback-request.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');

describe('parseTime', () => {
  it.each([
    ['2026-12-07T10:00:00Z', '2026-12-07T10:00:00.000Z'],
    ['2026-12-07T10:00:00.250Z', '2026-12-07T10:00:00.250Z'],
    ['2026-12-07T05:00:00-05:00', '2026-12-07T10:00:00.000Z'],
    ['2026-12-07T11:00+0100', '2026-12-07T10:00:00.000Z'],
    ['2026-12-07', '2026-12-07T00:00:00.000Z'],
  ])('ISO 8601 %s', (text, iso) => {
    expect(new Date(parseTime(text, NOW)!).toISOString()).toBe(iso);
  });

  it.each(['2026-12-07T10:00:00', 'yesterday', '-2h', '2026-13-45T10:00:00Z', '1765000000'])(
    'refuses %s in the API (no zone, prose, relative, impossible, epoch)',
    (text) => {
      expect(parseTime(text, NOW)).toBeUndefined();
    },
  );

  it('the CLI also takes now and times before it', () => {
    expect(parseTime('now', NOW, true)).toBe(NOW);
    expect(parseTime('-2h', NOW, true)).toBe(NOW - 7_200_000);
    expect(parseTime('-30m', NOW, true)).toBe(NOW - 1_800_000);
    expect(parseTime('-7d', NOW, true)).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('+2h', NOW, true)).toBeUndefined();
  });
});

describe('tracebackQuery', () => {
  it('builds each kind, numbers canonical, to defaulting to now', () => {
    expect(tracebackQuery({ call_id: 'x@y' }, NOW)).toEqual({ by: 'callId', callId: 'x@y', limit: 100 });
    expect(tracebackQuery({ origid: 'o', from: NOW - 1000, limit: 5 }, NOW)).toEqual({
      by: 'origid',
      origid: 'o',
      window: { from: NOW - 1000, to: NOW },
      limit: 5,
    });
    expect(
      tracebackQuery({ orig: '+1 (202) 555-0100', dest: '%2B12025550199', from: 0, to: 1 }, NOW),
    ).toEqual({
      by: 'numbers',
      orig: '12025550100',
      dest: '12025550199',
      window: { from: 0, to: 1 },
      limit: 100,
    });
  });

  it('a window of exactly the cap passes; one millisecond more does not', () => {
    expect(tracebackQuery({ orig: '1', from: 0, to: MAX_WINDOW_MS }, NOW)).not.toBeInstanceOf(
      TracebackRequestError,
    );
    const e = tracebackQuery({ orig: '1', from: 0, to: MAX_WINDOW_MS + 1 }, NOW);
    expect(e instanceof TracebackRequestError && [e.code, e.path]).toEqual(['window_too_large', 'from']);
  });
});

describe('parseTokenFile', () => {
  it('reads name:token lines, skipping comments and blank lines', () => {
    expect(parseTokenFile('# ops\nalice:0123456789abcdef\n\n bob:fedcba9876543210xyz \n', 'f')).toEqual([
      { name: 'alice', token: '0123456789abcdef' },
      { name: 'bob', token: 'fedcba9876543210xyz' },
    ]);
  });

  it.each([
    ['a line without a name', 'just-a-token-0123456789', 'line 1'],
    ['a short token', 'alice:short', 'line 1'],
    ['a bad line after a good one', 'alice:0123456789abcdef\nbob smith:0123456789abcdef', 'line 2'],
    ['no token at all', '# nothing\n', 'has no token'],
  ])('refuses %s, naming where', (_why, text, where) => {
    expect(() => parseTokenFile(text, 'f')).toThrow(TokenFileError);
    expect(() => parseTokenFile(text, 'f')).toThrow(where);
  });
});
